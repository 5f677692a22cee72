"""The nested-stack contract, which cfn-lint does not check across files.

For every nested stack in a rendered target: every parameter the parent passes
exists in the child, every child parameter without a default is passed, and
every ``Outputs.X`` the parent reads is an output of that child.
"""

from __future__ import annotations


def _get_atts(value):
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            yield value["Fn::GetAtt"]
        for item in value.values():
            yield from _get_atts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _get_atts(item)


def violations(rendered: dict[str, dict], parent_file: str) -> list[str]:
    parent = rendered[parent_file]
    stacks = {name: r for name, r in parent.get("Resources", {}).items() if r["Type"] == "AWS::CloudFormation::Stack"}
    found = []
    for name, stack in stacks.items():
        child_file = stack["Properties"]["TemplateURL"]
        if child_file not in rendered:
            found.append(f"{parent_file}: {name}: TemplateURL {child_file!r} is not a rendered template")
            continue
        child = rendered[child_file]
        declared = child.get("Parameters", {})
        passed = stack["Properties"].get("Parameters", {})
        found += [f"{parent_file}: {name}: passes {p!r}, which {child_file} does not declare" for p in sorted(set(passed) - set(declared))]
        required = {p for p, spec in declared.items() if "Default" not in spec}
        found += [f"{parent_file}: {name}: does not pass {p!r}, which {child_file} requires" for p in sorted(required - set(passed))]
        found += violations(rendered, child_file)
    for target, attribute in _get_atts(parent):
        if target in stacks and attribute.startswith("Outputs."):
            child_file = stacks[target]["Properties"]["TemplateURL"]
            output = attribute.split(".", 1)[1]
            if output not in rendered.get(child_file, {}).get("Outputs", {}):
                found.append(f"{parent_file}: reads {target}.{attribute}, which {child_file} does not output")
    return found
