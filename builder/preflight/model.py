"""What every preflight rule produces: checks made, and a finding for each one that failed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """One line: target, template, resource (or pipeline action), rule, the value found and the limit."""

    target: str
    template: str
    resource: str
    rule: str
    value: str
    limit: str

    def __str__(self) -> str:
        return f"{self.target}: {self.template}: {self.resource}: {self.rule}: {self.value} (limit: {self.limit})"


@dataclass
class Report:
    """Per rule: how many checks it made, and its findings."""

    checks: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def check(self, rule: str, ok: bool, finding: Finding | None = None) -> None:
        """Count one check of ``rule``; record ``finding`` when it failed."""
        self.checks[rule] = self.checks.get(rule, 0) + 1
        if not ok:
            if finding is None:
                raise ValueError(f"{rule}: a failed check needs its finding")
            self.findings.append(finding)

    def merge(self, other: Report) -> None:
        for rule, count in other.checks.items():
            self.checks[rule] = self.checks.get(rule, 0) + count
        self.findings += other.findings


def policy_size(document) -> int:
    """Characters IAM counts in a policy: the JSON without any whitespace.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html ("IAM does not count white
    space when calculating the size of a policy against these quotas").
    """
    return sum(1 for char in json.dumps(document, separators=(",", ":")) if not char.isspace())


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
