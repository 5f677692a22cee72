"""The permissions CloudFormation's resource handlers call, read from the registry schemas cfn-lint ships.

Every resource type's registry schema lists, per handler (create, read, update, delete, list), the IAM
actions its handler calls (https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html,
"handlers"). A role that CloudFormation deploys with needs those of create, update and delete (read is
called by them and by drift detection and rollback, so it is included too). cfn-lint ships these schemas
under ``cfnlint/data/schemas``; they are read from the installed package (its version is pinned in
requirements.txt), so the data is deterministic for a given install and never copied here. They are read
as cfn-lint's provider schema manager reads them, without importing cfn-lint (a second rendering spares).

``EXCLUDED`` is the one table of permissions a handler declares that the platform's templates never need,
each with its reason. The deploy roles are derived from ``required_permissions`` and the preflight's
sufficiency rule checks the roles against the same function, so the two cannot drift.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

# The handlers whose permissions a deploy role needs: create and update to deploy, delete to roll back
# and to delete, read because create/update/delete handlers call it to stabilise and return the model.
DEPLOY_HANDLERS = ("create", "read", "update", "delete")
# The region whose provider schema is read. Handler permissions do not vary by region in the schemas.
SCHEMA_REGION = "us-east-1"

# (resource type, action) -> why the templates never need it. "*" as the type matches every type.
_S3_API_NOT_ACTION = "an S3 API operation, not an IAM action: IAM authorizes it as the matching s3:Put... action"
_S3_METADATA = "only for a bucket's MetadataTableConfiguration (S3 Tables), which no bucket sets"
_NO_CODE_SIGNING = "only for a function's CodeSigningConfigArn, which no function sets"
EXCLUDED: dict[tuple[str, str], str] = {
    ("*", "s3:REST.PUT.OBJECT"): "an S3 REST operation name, not an IAM action (the object write is s3:PutObject)",
    **{
        ("AWS::S3::Bucket", f"s3:{verb}"): _S3_API_NOT_ACTION
        for verb in (
            "DeleteBucketAnalyticsConfiguration",
            "DeleteBucketCors",
            "DeleteBucketEncryption",
            "DeleteBucketLifecycle",
            "DeleteBucketMetricsConfiguration",
            "DeleteBucketReplication",
            "PutBucketReplication",
            "PutObjectLockConfiguration",
        )
    },
    **{
        ("AWS::S3::Bucket", action): _S3_METADATA
        for action in (
            "s3:CreateBucketMetadataTableConfiguration",
            "s3:DeleteBucketMetadataTableConfiguration",
            "s3:UpdateBucketMetadataAnnotationTableConfiguration",
            "s3:UpdateBucketMetadataInventoryTableConfiguration",
            "s3:UpdateBucketMetadataJournalTableConfiguration",
            "s3tables:CreateNamespace",
            "s3tables:CreateTable",
            "s3tables:CreateTableBucket",
            "s3tables:GetTable",
            "s3tables:GetTableMetadataLocation",
            "s3tables:PutTableBucketPolicy",
            "s3tables:PutTableEncryption",
            "s3tables:PutTablePolicy",
            "s3tables:UpdateTableMetadataLocation",
        )
    },
    ("AWS::S3::Bucket", "s3files:ListMountTargets"): "only for a bucket mounted as an S3 Files file system; none is",
    ("AWS::S3::Bucket", "s3:PutBucketAcl"): "no bucket sets AccessControl; BucketOwnerEnforced ownership disables ACLs",
    ("AWS::S3::Bucket", "s3:PutObjectAcl"): "no bucket sets AccessControl; BucketOwnerEnforced ownership disables ACLs",
    ("*", "cognito-idp:DescribeUserPoolClient"): "only for authenticate-cognito listener actions, which no listener or rule uses",
    ("*", "elasticfilesystem:DescribeMountTargets"): "only for EFS volumes, which no task definition mounts",
    ("*", "s3files:ListMountTargets"): "only for S3 Files volumes, which no task definition mounts",
    ("*", "vpc-lattice:CreateServiceNetworkVpcEndpointAssociation"): "only for VPC Lattice service-network endpoints; none is",
    ("*", "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation"): "only for VPC Lattice service-network endpoints; none is",
    ("AWS::EC2::VPCEndpoint", "vpce:AllowMultiRegion"): "only for an endpoint to another region's service (ServiceRegion); none sets it",
    ("*", "ec2:AttachVpnGateway"): "the gateway attachment attaches an internet gateway, never a VPN gateway",
    ("*", "ec2:DetachVpnGateway"): "the gateway attachment attaches an internet gateway, never a VPN gateway",
    ("*", "ec2:AssociateSubnetCidrBlock"): "only for IPv6 CIDR blocks, which no subnet has",
    ("*", "ec2:DisassociateSubnetCidrBlock"): "only for IPv6 CIDR blocks, which no subnet has",
    ("AWS::EC2::VPC", "ec2:CreateVpcEncryptionControl"): "only for VPC encryption controls, which no VPC sets",
    ("AWS::EC2::VPC", "ec2:ModifyVpcTenancy"): "only for InstanceTenancy, which no VPC sets",
    ("*", "ecs:PutAccountSetting"): "account-wide ECS settings, shared by every environment: no template sets any",
    ("*", "ecs:PutAccountSettingDefault"): "account-wide ECS settings, shared by every environment: no template sets any",
    ("*", "iam:DeleteRolePermissionsBoundary"): "removing a role's permissions boundary is exactly what the deploy role must not do",
    ("*", "lambda:GetCodeSigningConfig"): _NO_CODE_SIGNING,
    ("*", "lambda:PutFunctionCodeSigningConfig"): _NO_CODE_SIGNING,
    ("*", "lambda:GetLayerVersion"): "only for a function's Layers, which no function sets",
    ("*", "lambda:AssociateRuntimeAlias"): "not an action in the IAM service authorization reference cfn-lint ships (W3037 "
    "refuses it): IAM cannot be asked for it",
    ("*", "lambda:PassCapacityProvider"): "only for functions on a Lambda capacity provider; none runs on one",
    ("*", "logs:PutResourcePolicy"): "only for a log group's ResourcePolicyDocument, which none sets; log resource policies are "
    "account-wide, shared by every environment",
    ("*", "logs:DeleteResourcePolicy"): "only for a log group's ResourcePolicyDocument, which none sets; log resource policies are "
    "account-wide, shared by every environment",
    ("*", "logs:PutIndexPolicy"): "only for a log group's FieldIndexPolicies, which none sets (account-wide resource)",
    ("*", "logs:DeleteIndexPolicy"): "only for a log group's FieldIndexPolicies, which none sets (account-wide resource)",
    ("*", "logs:PutBearerTokenAuthentication"): "only for bearer-token log ingestion, which no log group enables",
    ("*", "secretsmanager:ReplicateSecretToRegions"): "only for ReplicaRegions, which no secret sets",
    ("*", "secretsmanager:RemoveRegionsFromReplication"): "only for ReplicaRegions, which no secret sets",
}


class UnknownResourceType(KeyError):
    """A resource type the installed registry schemas do not know."""


# What cfn-lint's provider schema manager reads (cfnlint/schema/manager.py, cfn-lint 1.58): a region's file in
# providers/ maps each type to the hash of its schema in resources/; a region without a file uses us-east-1's, and
# sam.json adds the SAM types. The schemas come from the package's data/schemas, or from the user's cache directory
# when ``cfn-lint --update-specs`` left newer ones there. Reading the same files here spares rendering the second
# it takes to import cfn-lint; tests/templates/test_handler_permissions.py checks the result equals the manager's.
_MODULE_SCHEMA = {"additionalProperties": True, "type": "object", "typeName": "Module"}


def _cfn_lint_dir() -> Path:
    return Path(importlib.util.find_spec("cfnlint").origin).parent  # found, not imported


def _cache_dir() -> Path:
    """cfnlint.helpers.get_cache_dir: where ``cfn-lint --update-specs`` keeps newer schemas."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA", os.path.expanduser("~\\AppData\\Local"))
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    return Path(base, "aws", "cfn-lint", "schemas")


def _schema_date(directory: Path) -> str:
    try:
        return json.loads((directory / "version.json").read_text(encoding="utf-8")).get("schema_date", "")
    except (FileNotFoundError, json.JSONDecodeError):
        return ""


@cache
def _schema_dir() -> Path | None:
    """The data/schemas directory cfn-lint reads: the packaged one, or the cache when it is newer. None when
    neither holds provider files (cfn-lint would download them: then it is asked itself)."""
    packaged, cached = _cfn_lint_dir() / "data" / "schemas", _cache_dir()
    usable = [d for d in (packaged, cached) if (d / "providers").exists() and any((d / "providers").glob("*.json"))]
    if len(usable) == 2:
        chosen = cached if _schema_date(cached) > _schema_date(packaged) else packaged
    else:
        chosen = usable[0] if usable else cached
    return chosen if (chosen / "providers" / "us-east-1.json").exists() else None


@cache
def _provider_types(schemas: Path, region: str) -> dict[str, str]:
    """Type -> schema hash in ``region`` (us-east-1's file when the region has none), SAM's types included."""
    providers = schemas / "providers"
    region_file = providers / f"{region}.json"
    types = json.loads((region_file if region_file.exists() else providers / "us-east-1.json").read_text(encoding="utf-8"))
    sam = providers / "sam.json"
    return {**types, **(json.loads(sam.read_text(encoding="utf-8")) if sam.exists() else {})}


def _normalized(resource_type: str) -> str:
    if resource_type.startswith("Custom::"):
        return "AWS::CloudFormation::CustomResource"
    return "Module" if resource_type.endswith("::MODULE") else resource_type


@cache
def _schema(resource_type: str) -> dict:
    schemas = _schema_dir()
    if schemas is None:
        return _schema_from_cfn_lint(resource_type)
    normalized = _normalized(resource_type)
    if normalized == "Module":
        return dict(_MODULE_SCHEMA)
    schema_hash = _provider_types(schemas, SCHEMA_REGION).get(normalized)
    if not schema_hash:
        raise UnknownResourceType(resource_type)
    try:
        return json.loads((schemas / "resources" / f"{schema_hash}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UnknownResourceType(resource_type) from error


def _schema_from_cfn_lint(resource_type: str) -> dict:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # imported lazily: a second of import

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
