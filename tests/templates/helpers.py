"""Small readers over rendered template dicts."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path


def resources_of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def props(template: dict, name: str) -> dict:
    return template["Resources"][name].get("Properties", {})


def refs(value) -> set[str]:
    """Every logical id a value refers to with Ref or GetAtt."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value:
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= refs(item)
    return found


def _put_in(value, fixed: dict):
    """``value`` with every Ref to, and every ${} of, a parameter in ``fixed`` replaced by its value."""
    if isinstance(value, list):
        return [_put_in(item, fixed) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in fixed:
        return fixed[value["Ref"]]
    if set(value) == {"Fn::Sub"}:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        for name, given in fixed.items():
            if name not in variables:
                text = text.replace("${" + name + "}", str(given))
        variables = _put_in(variables, fixed)
        if not variables:
            return text if "${" not in text else {"Fn::Sub": text}
        return {"Fn::Sub": [text, variables]}
    return {key: _put_in(item, fixed) for key, item in value.items()}


def _typed(template: dict, values: dict[str, str]) -> dict:
    declared = template.get("Parameters", {})
    return {name: int(value) if declared[name]["Type"] == "Number" else value for name, value in values.items()}


def service_template(config, service_config) -> dict:
    """One service's stack template as deployed: ``service.build`` with the root's fixed values put in."""
    from templates.stacks import service

    template = service.build(config, service_config).to_dict()
    return _put_in(template, _typed(template, service.service_values(service_config)))


def _service_stacks(rendered: dict[str, dict], root: str) -> list[tuple[str, dict]]:
    """(template file, fixed parameter values) of each service's stack the root declares."""
    from templates.stacks import service

    found = []
    for body in rendered[root]["Resources"].values():
        passed = body.get("Properties", {}).get("Parameters", {})
        if body["Type"] == "AWS::CloudFormation::Stack" and service.SERVICE_NAME in passed:
            file = body["Properties"]["TemplateURL"]
            found.append((file, _typed(rendered[file], {k: v for k, v in passed.items() if isinstance(v, str)})))
    return found


def _filled(rendered: dict[str, dict], stacks: list[tuple[str, dict]]) -> dict[str, dict]:
    from templates.stacks import service

    return {fixed[service.SERVICE_NAME]: _put_in(rendered[file], fixed) for file, fixed in stacks}


def service_stacks(rendered: dict[str, dict], root: str = "root.json") -> dict[str, dict]:
    """Service name -> its stack's template as CloudFormation sees it: the shared template with the
    fixed values the root passes put in (numbers as numbers, as the template had them before)."""
    return _filled(rendered, _service_stacks(rendered, root))


def as_deployed(rendered: dict[str, dict], root: str = "root.json") -> dict[str, dict]:
    """Every template of a target, each service's shared template replaced by one per service
    (``service_stacks``), labelled ``service:<name>``."""
    stacks = _service_stacks(rendered, root)
    shared = {file for file, _ in stacks}
    kept = {name: template for name, template in rendered.items() if name not in shared}
    return {**kept, **{f"service:{name}": template for name, template in _filled(rendered, stacks).items()}}


def every(rendered: dict[str, dict], resource_type: str):
    """(``"<file>: <logical id>"``, template, resource) of each resource of the type, in every template."""
    for file, template in rendered.items():
        for logical_id, resource in resources_of_type(template, resource_type).items():
            yield f"{file}: {logical_id}", template, resource


def target_of(value) -> str | None:
    """The logical id (or parameter) a bare Ref or GetAtt names; None for anything else."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return value["Ref"]
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return value["Fn::GetAtt"][0]
    return None


def output_target(template: dict, output: str) -> str | None:
    """The logical id an output of ``template`` refers to."""
    return target_of(template["Outputs"][output]["Value"])


@functools.cache
def deployed_services(configured) -> list[tuple[object, str, dict]]:
    """(the service's configuration, ``service:<name>``, its stack's template as deployed) of each service of an
    environment target, in project.yaml's order; computed once per target (``configured`` is a ConfiguredTarget)."""
    deployed = configured.deployed
    return [(s, f"service:{s.name}", deployed[f"service:{s.name}"]) for s in configured.config.project.services]


def only(template: dict, resource_type: str, where: str) -> tuple[str, dict]:
    """(logical id, properties) of the one resource of the type in ``template``."""
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"{where}: {len(found)} resources of type {resource_type}, expected one"
    ((logical_id, resource),) = found.items()
    return logical_id, resource.get("Properties", {})


@functools.cache
def service_reference() -> dict:
    """The IAM service authorization reference (parliament's copy), by service prefix; read once per run."""
    location = Path(next(iter(importlib.util.find_spec("parliament").submodule_search_locations)))
    return {s["prefix"]: s for s in json.loads((location / "iam_definition.json").read_text())}


@functools.cache
def _privileges() -> dict[str, dict]:
    """Every privilege by ``service:Verb``, indexed once (the reference is 10 MB of JSON); a service's first entry of a
    privilege listed twice."""
    index: dict[str, dict] = {}
    for prefix, service in service_reference().items():
        for entry in service["privileges"]:
            index.setdefault(f"{prefix}:{entry['privilege']}", entry)
    return index


def privilege(action: str) -> dict | None:
    """The reference's entry for ``service:Verb``; None if unknown (or a pattern such as ``kms:Get*``)."""
    return _privileges().get(action)


def policy_statements(document: dict) -> list[dict]:
    """The document's statements, a conditional one (``Fn::If``) as each of its branches that is a statement."""
    found = []
    for statement in document["Statement"]:
        branches = statement["Fn::If"][1:] if set(statement) == {"Fn::If"} else [statement]
        found += [branch for branch in branches if branch != {"Ref": "AWS::NoValue"}]
    return found


def unread_ids(queries: list[dict]) -> set[str]:
    """The ids the metric-math expressions of ``queries`` read that no query has (a query without an Id counts as
    none): CloudWatch refuses such an alarm or scaling policy.  Functions (FILL, MAX) are upper case."""
    ids = {q["Id"] for q in queries if "Id" in q}
    assert len(ids) == len(queries), "every query has an Id of its own"
    read = {name for q in queries for name in re.findall(r"\b([a-z][A-Za-z0-9_]*)\b", q.get("Expression", ""))}
    return read - ids
