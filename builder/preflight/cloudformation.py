"""What CloudFormation itself refuses: template quotas with headroom, and nested-stack parameter values.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html: 500 resources,
200 parameters and 200 outputs per template; a template body passed through S3 at most 1 MB. The 60% leaves
room for a project to grow (more services, more alarms) before a deploy is refused.

A nested stack's parameter constraints (AllowedValues, AllowedPattern, MinValue/MaxValue, MinLength/MaxLength)
are checked when CloudFormation creates or updates the child stack, which then fails: "the pattern must match
the entire parameter value" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html).
Every literal value a parent passes is checked here against the child's constraints.  The patterns are Java
regexes (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-regexes.html); the ones the
templates use mean the same in Python.
"""

from __future__ import annotations

import re

from builder.preflight.model import Finding, Report
from builder.preflight.resolve import Target
from templates.render import to_json

RULE = "cloudformation-template-limit"
PARAMETER_RULE = "cloudformation-parameter-constraint"
HEADROOM = 0.6
LIMITS = {
    "resources": (500, lambda t: len(t.get("Resources", {}))),
    "parameters": (200, lambda t: len(t.get("Parameters", {}))),
    "outputs": (200, lambda t: len(t.get("Outputs", {}))),
    "bytes": (1_048_576, lambda t: len(to_json(t).encode("utf-8"))),
}


def check(target: Target) -> Report:
    report = Report()
    for file, template in sorted(target.rendered.items()):
        for what, (limit, measure) in LIMITS.items():
            value = measure(template)
            allowed = int(limit * HEADROOM)
            report.check(
                RULE, value <= allowed, Finding(target.name, file, "template", RULE, f"{value} {what}", f"{allowed} (60% of {limit})")
            )
    return report


def constraint_problem(value: str, declared: dict) -> str | None:
    """What ``value`` breaks of a parameter's declared constraints (None when it meets them)."""
    if "AllowedValues" in declared and value not in [str(v) for v in declared["AllowedValues"]]:
        return f"one of {declared['AllowedValues']}"
    if "AllowedPattern" in declared and not re.fullmatch(declared["AllowedPattern"], value):
        return f"AllowedPattern {declared['AllowedPattern']}"
    if not declared.get("MinLength", 0) <= len(value) <= declared.get("MaxLength", len(value)):
        return f"a length from {declared.get('MinLength', 0)} to {declared.get('MaxLength', 'any')}"
    if declared.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return "a number"
        if not declared.get("MinValue", number) <= number <= declared.get("MaxValue", number):
            return f"a number from {declared.get('MinValue', '-')} to {declared.get('MaxValue', '-')}"
    return None


def check_parameters(target: Target) -> Report:
    """Every literal value a template passes a nested stack of the target meets the child's constraints."""
    report = Report()
    for file, template in sorted(target.rendered.items()):
        for logical_id, resource in sorted(template.get("Resources", {}).items()):
            body = resource.get("Properties", {})
            child = target.rendered.get(body.get("TemplateURL")) if resource["Type"] == "AWS::CloudFormation::Stack" else None
            for name, value in sorted(body.get("Parameters", {}).items()) if child else ():
                declared = child.get("Parameters", {}).get(name)
                if declared is None or isinstance(value, dict | list):
                    continue  # an unknown name is the nested-stack contract's to report; intrinsics resolve at deploy time
                problem = constraint_problem(str(value), declared)
                finding = Finding(target.name, file, f"{logical_id} parameter {name}", PARAMETER_RULE, repr(str(value)), problem or "")
                report.check(PARAMETER_RULE, problem is None, finding)
    return report
