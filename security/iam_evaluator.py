"""A small evaluator of identity-policy Allow statements, for isolation tests over rendered policies.

It answers one question: does any Allow statement of a policy admit this request (action, resource, the
resource's tags, the request's tags and other context keys)?  It follows IAM's rules for what the templates
use: action and resource wildcards (``*``, ``?``; actions case-insensitive), and the condition operators
StringEquals, StringLike, ArnEquals, ArnLike, Bool, Null, their ``IfExists`` forms and ``ForAllValues:`` /
``ForAnyValue:`` sets ("IAM JSON policy elements: Condition operators", IAM User Guide:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
Explicit denies, permissions boundaries' intersection and resource policies are the caller's to combine.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

# What ${AWS::...} and Ref resolve to in the requests the tests make.
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "111122223333", "AWS::URLSuffix": "amazonaws.com"}


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    tags: dict[str, str] = field(default_factory=dict)  # the resource's tags
    request_tags: dict[str, str] = field(default_factory=dict)
    context: dict[str, object] = field(default_factory=dict)  # other keys: iam:PassedToService, ec2:CreateAction, ...

    def keys(self) -> dict[str, object]:
        found = {f"aws:ResourceTag/{k}": v for k, v in self.tags.items()}
        found.update({f"aws:RequestTag/{k}": v for k, v in self.request_tags.items()})
        if self.request_tags:
            found["aws:TagKeys"] = sorted(self.request_tags)
        found.update(self.context)
        return {k.lower(): v for k, v in found.items()}


def concrete(value, refs: dict[str, str] | None = None):
    """``value`` with Fn::Sub and Ref resolved (PSEUDO, then ``refs``; any other Ref names itself)."""
    names = {**PSEUDO, **(refs or {})}
    if isinstance(value, list):
        return [concrete(v, refs) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return names.get(value["Ref"], value["Ref"])
    if set(value) == {"Fn::Sub"}:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        names.update({k: concrete(v, refs) for k, v in variables.items()})
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(names.get(m.group(1), m.group(1))), text)
    return {k: concrete(v, refs) for k, v in value.items()}


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def _like(value: str, pattern: str, case: bool = True) -> bool:
    if not case:
        value, pattern = value.lower(), pattern.lower()
    return fnmatch.fnmatchcase(value, pattern)


MATCHERS = {
    "StringEquals": lambda v, p: v == p,
    "StringLike": _like,
    "ArnEquals": lambda v, p: v == p,
    "ArnLike": _like,
    "Bool": lambda v, p: str(v).lower() == str(p).lower(),
}


def _condition_holds(operator: str, key: str, wanted, keys: dict[str, object]) -> bool:
    present = key.lower() in keys
    if operator == "Null":
        return (not present) == (str(wanted).lower() == "true")
    quantifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    match = MATCHERS[operator.removesuffix("IfExists")]
    if not present:
        return if_exists or quantifier == "ForAllValues"
    values = [str(v) for v in _list(keys[key.lower()])]
    patterns = [str(p) for p in _list(wanted)]
    if quantifier == "ForAllValues":
        return all(any(match(v, p) for p in patterns) for v in values)
    return any(match(v, p) for v in values for p in patterns)


def statement_allows(statement: dict, request: Request) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if not any(_like(request.action, a, case=False) for a in _list(statement.get("Action", []))):
        return False
    if not any(_like(request.resource, r) for r in _list(statement.get("Resource", []))):
        return False
    keys = request.keys()
    return all(
        _condition_holds(operator, key, wanted, keys)
        for operator, pairs in statement.get("Condition", {}).items()
        for key, wanted in pairs.items()
    )


def allows(statements: list[dict], request: Request) -> bool:
    """Whether any of ``statements`` (resolved with ``concrete``) allows ``request``."""
    return any(statement_allows(s, request) for s in statements)
