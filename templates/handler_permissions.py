"""The permissions CloudFormation's resource handlers call, read from the registry schemas cfn-lint ships.

Every resource type's registry schema lists, per handler (create, read, update, delete, list), the IAM
actions its handler calls (https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html,
"handlers"). A role that CloudFormation deploys with needs those of create, update and delete (read is
called by them and by drift detection and rollback, so it is included too). cfn-lint ships these schemas
under ``cfnlint/data/schemas``; they are read from the installed package (its version is pinned in
requirements.txt), so the data is deterministic for a given install and never copied here.

``EXCLUDED`` is the one table of permissions a handler declares that the platform's templates never need,
each with its reason. The deploy roles are derived from ``required_permissions`` and the preflight's
sufficiency rule checks the roles against the same function, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

# The handlers whose permissions a deploy role needs: create and update to deploy, delete to roll back
# and to delete, read because create/update/delete handlers call it to stabilise and return the model.
DEPLOY_HANDLERS = ("create", "read", "update", "delete")
# The region whose provider schema is read. Handler permissions do not vary by region in the schemas.
SCHEMA_REGION = "us-east-1"

# (resource type, action) -> why the templates never need it. "*" as the type matches every type.
EXCLUDED: dict[tuple[str, str], str] = {}


class UnknownResourceType(KeyError):
    """A resource type the installed registry schemas do not know."""


@cache
def _schema(resource_type: str) -> dict:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # imported lazily: rendering needs it only here

    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema(SCHEMA_REGION, resource_type).schema
    except Exception as error:  # cfn-lint raises its own ResourceNotFoundError
        raise UnknownResourceType(resource_type) from error


def handler_permissions(resource_type: str) -> dict[str, tuple[str, ...]]:
    """Handler name -> the actions the registry schema lists for it (sorted, de-duplicated)."""
    handlers = _schema(resource_type).get("handlers", {})
    return {name: tuple(sorted(set(h.get("permissions", ())))) for name, h in sorted(handlers.items())}


def excluded_reason(resource_type: str, action: str) -> str | None:
    return EXCLUDED.get((resource_type, action)) or EXCLUDED.get(("*", action))


def required_permissions(resource_types: Iterable[str], handlers: tuple[str, ...] = DEPLOY_HANDLERS) -> dict[str, tuple[str, ...]]:
    """Action -> the resource types whose handlers call it, for every action not in ``EXCLUDED``."""
    needed: dict[str, set[str]] = {}
    for resource_type in sorted(set(resource_types)):
        permissions = handler_permissions(resource_type)
        for handler in handlers:
            for action in permissions.get(handler, ()):
                if excluded_reason(resource_type, action) is None:
                    needed.setdefault(action, set()).add(resource_type)
    return {action: tuple(sorted(types)) for action, types in sorted(needed.items())}


def resource_types(template: dict) -> set[str]:
    """The resource types a rendered template declares (custom resources are not registry types)."""
    return {
        body["Type"]
        for body in template.get("Resources", {}).values()
        if not body["Type"].startswith("Custom::") and body["Type"] != "AWS::CloudFormation::CustomResource"
    }
