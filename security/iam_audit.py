"""The IAM audit: no wildcard grants outside the listed exceptions.

Rules, for every Allow statement of every policy in every template:
- no ``Action: "*"`` and no ``service:*`` action;
- no ``NotAction`` or ``NotResource``;
- ``Resource: "*"`` only in identity policies whose every action is in
  ``templates.iam.policies.WILDCARD_RESOURCE_ACTIONS``.  A key policy's ``"*"`` means
  "this key" and is allowed; anywhere else it is an offence;
- no ``Principal: "*"`` without a condition.
Deny statements may use wildcards: they only take permissions away.
"""

from __future__ import annotations

from dataclasses import dataclass

from security.policies_in_templates import FoundPolicy, as_list, policies
from templates.iam.policies import WILDCARD_RESOURCE_ACTIONS


@dataclass(frozen=True)
class Offence:
    template: str
    resource: str
    statement: str
    reason: str

    def __str__(self) -> str:
        return f"{self.template}: {self.resource}: {self.statement}: {self.reason}"


def statement_offences(policy: FoundPolicy, statement: dict) -> list[str]:
    if statement.get("Effect") != "Allow":
        return []
    reasons = []
    for key in ("NotAction", "NotResource"):
        if key in statement:
            reasons.append(f"{key} with Allow grants everything not listed")
    actions = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
    for action in actions:
        if action == "*":
            reasons.append('Action "*"')
        elif action.endswith(":*"):
            reasons.append(f"{action}: every action of a service")
    if policy.kind in ("identity", "resource") and "*" in as_list(statement.get("Resource", [])):
        unlisted = sorted(a for a in actions if a not in WILDCARD_RESOURCE_ACTIONS or policy.kind == "resource")
        if unlisted:
            reasons.append(f'Resource "*" for {", ".join(unlisted)}, not a listed exception')
    if statement.get("Principal") in ("*", {"AWS": "*"}) and "Condition" not in statement:
        reasons.append('Principal "*" allowed without a condition')
    return reasons


def audit(template_name: str, template: dict) -> list[Offence]:
    offences = []
    for policy in policies(template_name, template):
        for index, statement in enumerate(as_list(policy.document.get("Statement", []))):
            label = f"{policy.where}.Statement[{index}]" + (f" ({statement['Sid']})" if "Sid" in statement else "")
            offences += [
                Offence(policy.template, policy.resource, label, reason) for reason in statement_offences(policy, statement)
            ]
    return offences
