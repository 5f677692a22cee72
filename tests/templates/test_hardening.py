"""Hardened storage and keys, wherever they exist in any target, now or later."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_TARGETS, PIPELINE, load_target, render_target
from tests.templates.helpers import refs, resources_of_type

RENDERED = {target: render_target(target) for target in ALL_TARGETS}
STATEFUL = ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::ECR::Repository", "AWS::SecretsManager::Secret")


def every(resource_type: str):
    for target, rendered in RENDERED.items():
        for name, template in rendered.items():
            for logical_id, resource in resources_of_type(template, resource_type).items():
                yield target, name, template, logical_id, resource


def test_every_bucket_is_encrypted_versioned_private_and_tls_only():
    buckets = list(every("AWS::S3::Bucket"))
    assert buckets
    for target, name, template, logical_id, bucket in buckets:
        where = f"{target}/{name}: {logical_id}"
        properties = bucket["Properties"]
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"], where
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}, where
        assert all(properties["PublicAccessBlockConfiguration"].values()) and len(properties["PublicAccessBlockConfiguration"]) == 4, where
        bucket_policies = [
            p["Properties"]["PolicyDocument"]
            for p in resources_of_type(template, "AWS::S3::BucketPolicy").values()
            if refs(p["Properties"]["Bucket"]) == {logical_id}
        ]
        denies = [s for p in bucket_policies for s in p["Statement"] if s["Effect"] == "Deny"]
        assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in denies), where


def test_every_key_rotates():
    keys = list(every("AWS::KMS::Key"))
    assert keys
    assert all(key["Properties"]["EnableKeyRotation"] is True for *_, key in keys)


@pytest.mark.parametrize("resource_type", STATEFUL)
def test_stateful_resources_are_retained(resource_type):
    for target, name, _, logical_id, resource in every(resource_type):
        assert resource.get("DeletionPolicy") == "Retain" == resource.get("UpdateReplacePolicy"), f"{target}/{name}: {logical_id}"


def test_log_groups_follow_the_environment_retention_encryption_and_protection():
    groups = list(every("AWS::Logs::LogGroup"))
    assert groups
    for target, name, _, logical_id, group in groups:
        cfg = load_target(target)
        environment = cfg.pipeline if target == PIPELINE else cfg.environment  # both carry protected and logs
        where = f"{target}/{name}: {logical_id}"
        assert group["Properties"]["RetentionInDays"] == environment.logs.retention_days, where
        assert ("KmsKeyId" in group["Properties"]) is environment.logs.kms_encrypted, where
        assert (group["DeletionPolicy"] == "Retain") is environment.protected, where


def test_every_checkov_suppression_carries_a_reason():
    for target, rendered in RENDERED.items():
        for name, template in rendered.items():
            for logical_id, resource in template["Resources"].items():
                for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                    assert skip["id"].startswith("CKV") and len(skip["comment"]) > 20, f"{target}/{name}: {logical_id}"


def test_the_pipeline_target_is_covered():
    assert {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::ECR::Repository", "AWS::Logs::LogGroup"} <= {
        resource["Type"] for template in RENDERED[PIPELINE].values() for resource in template["Resources"].values()
    }
