"""Reading resolved IAM policies: a role's Allow statements, and whether an action matches a pattern."""

from __future__ import annotations

from fnmatch import fnmatchcase

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
    return fnmatchcase(action.lower(), pattern.lower())


def role_by_arn(target: Target, arn: str) -> tuple[Stack, str] | None:
    for stack, logical_id, _ in target.resources("AWS::IAM::Role"):
        if stack.attribute(logical_id, "Arn") == arn:
            return stack, logical_id
    return None
