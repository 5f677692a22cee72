"""Reading resolved IAM policies: a role's Allow statements, and whether an action matches a pattern."""

from __future__ import annotations

import re
from fnmatch import translate
from functools import cache

from builder.preflight.model import as_list
from builder.preflight.resolve import Stack, Target


def role_statements(target: Target, stack: Stack, logical_id: str) -> list[dict]:
    """Every statement that applies to a role: its inline policies, and policies that name it in ``Roles``."""
    properties = stack.properties(logical_id)
    documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
    name = stack.physical_id(logical_id)
    for other, other_id, _ in target.resources("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        attached = other.properties(other_id)
        if name in [str(r) for r in as_list(attached.get("Roles")) + as_list(attached.get("RoleName"))]:
            documents.append(attached["PolicyDocument"])
    return [s for document in documents for s in as_list(document.get("Statement"))]


def allows(statement: dict) -> list[str]:
    return [str(a) for a in as_list(statement.get("Action"))] if statement.get("Effect") == "Allow" else []


def matches(action: str, pattern: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` and ``?`` wildcards."""
    return allowed_by([pattern])(action)


def allowed_by(patterns: list[str]):
    """A test of whether an action matches any of ``patterns`` (IAM's case-insensitive wildcards), compiled once."""
    return _compiled(tuple(sorted({p.lower() for p in patterns})))


@cache
def _compiled(patterns: tuple[str, ...]):
    exact = {p for p in patterns if "*" not in p and "?" not in p}
    wildcards = [p for p in patterns if p not in exact]
    regex = re.compile("|".join(translate(p) for p in wildcards)) if wildcards else None
    return lambda action: action.lower() in exact or (regex is not None and regex.match(action.lower()) is not None)


def role_by_arn(target: Target, arn: str) -> tuple[Stack, str] | None:
    for stack, logical_id, _ in target.resources("AWS::IAM::Role"):
        if stack.attribute(logical_id, "Arn") == arn:
            return stack, logical_id
    return None
