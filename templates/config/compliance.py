"""compliance: control-tower, as a transform applied after validation.

The file is read and checked as written; a setting it gives that contradicts AWS Control Tower's proactive
controls is refused (``contradictions``), and what the controls require is then turned on (``applied``), so
a file that leaves those settings out gets them (docs/compliance.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from templates.config.model import Environment

MODE = "control-tower"
# CT.CLOUDWATCH.PR.2 asks for log groups kept at least a year.
COMPLIANCE_LOG_RETENTION_DAYS = 365


def required_settings(environment: Environment) -> dict[str, Any]:
    """The Environment fields that compliance: control-tower turns on, with the values it gives them."""
    logs = environment.logs
    return {
        "logs": dataclasses.replace(logs, retention_days=max(logs.retention_days, COMPLIANCE_LOG_RETENTION_DAYS), kms_encrypted=True),
        "load_balancer": dataclasses.replace(environment.load_balancer, deletion_protection=True),
    }


def applied(environment: Environment) -> Environment:
    """``environment`` with what its compliance mode requires turned on."""
    if environment.compliance != MODE:
        return environment
    return dataclasses.replace(environment, **required_settings(environment))


# Settings a compliance: control-tower file may not contradict: key path -> (test, what is accepted).
COMPLIANCE_RULES: dict[tuple[str, ...], tuple[Callable[[Any], bool], str]] = {
    ("logs", "retention_days"): (
        lambda v: isinstance(v, int) and v >= COMPLIANCE_LOG_RETENTION_DAYS,
        f"{COMPLIANCE_LOG_RETENTION_DAYS} or more, or omit it (CT.CLOUDWATCH.PR.2: log groups kept at least a year)",
    ),
    ("logs", "kms_encrypted"): (lambda v: v is True, "true, or omit it (CT.CLOUDWATCH.PR.3: log groups encrypted with a KMS key)"),
    ("load_balancer", "deletion_protection"): (
        lambda v: v is True,
        "true, or omit it (CT.ELASTICLOADBALANCING.PR.5: deletion protection on)",
    ),
    ("cluster", "container_insights"): (
        lambda v: v == "enabled",
        "'enabled', or omit it (CT.ECS.PR.2 accepts no other value, not even 'enhanced')",
    ),
}


def contradictions(environment: Environment, given: frozenset[str], filename: str) -> list[str]:
    """One line per setting the file gives (``given``: its key paths) that contradicts compliance: control-tower."""
    if environment.compliance != MODE:
        return []
    problems = []
    for path, (accepts, accepted) in COMPLIANCE_RULES.items():
        value = getattr(getattr(environment, path[0]), path[1])
        if ".".join(path) in given and not accepts(value):
            problems.append(f"{filename}: {'.'.join(path)}: {value!r} is not accepted with compliance: {MODE}; expected {accepted}")
    if not environment.load_balancer.certificate_arn:
        problems.append(
            f"{filename}: load_balancer.certificate_arn: missing; compliance: control-tower requires an ACM certificate "
            "(CT.ELASTICLOADBALANCING.PR.1: HTTP must redirect to HTTPS); expected an ACM certificate ARN, or compliance: none"
        )
    return problems
