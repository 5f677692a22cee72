"""Find every IAM policy document in a rendered template."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# resource type -> (property holding the document(s), kind of policy)
POLICY_PROPERTIES = {
    "AWS::IAM::Policy": ("PolicyDocument", "identity"),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument", "identity"),
    "AWS::S3::BucketPolicy": ("PolicyDocument", "resource"),
    "AWS::SNS::TopicPolicy": ("PolicyDocument", "resource"),
    "AWS::SQS::QueuePolicy": ("PolicyDocument", "resource"),
    "AWS::KMS::Key": ("KeyPolicy", "key"),
    "AWS::ECR::Repository": ("RepositoryPolicyText", "resource"),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy", "resource"),
}


@dataclass(frozen=True)
class FoundPolicy:
    template: str
    resource: str
    where: str  # the property path inside the resource
    kind: str  # identity, resource, key or trust
    document: dict


def policies(template_name: str, template: dict) -> Iterator[FoundPolicy]:
    for name, resource in sorted(template.get("Resources", {}).items()):
        properties = resource.get("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::IAM::Role":
            yield FoundPolicy(template_name, name, "AssumeRolePolicyDocument", "trust", properties["AssumeRolePolicyDocument"])
            for index, inline in enumerate(properties.get("Policies", [])):
                yield FoundPolicy(template_name, name, f"Policies[{index}]", "identity", inline["PolicyDocument"])
        elif kind in POLICY_PROPERTIES:
            key, policy_kind = POLICY_PROPERTIES[kind]
            if isinstance(properties.get(key), dict):
                yield FoundPolicy(template_name, name, key, policy_kind, properties[key])


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]
