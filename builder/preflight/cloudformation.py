"""CloudFormation's template quotas, with headroom: no template may pass 60% of any of them.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html: 500 resources,
200 parameters and 200 outputs per template; a template body passed through S3 at most 1 MB. The 60% leaves
room for a project to grow (more services, more alarms) before a deploy is refused.
"""

from __future__ import annotations

from builder.preflight.model import Finding, Report
from builder.preflight.resolve import Target
from templates.render import to_json

RULE = "cloudformation-template-limit"
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
