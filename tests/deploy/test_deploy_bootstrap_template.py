"""The bootstrap stack's template: the assets bucket's settings."""

from __future__ import annotations

import json

from templates import names
from templates.stacks import bootstrap


def rendered() -> dict:
    return json.loads(bootstrap.build().to_json())


def test_the_bucket_is_versioned_encrypted_private_and_retained():
    bucket = rendered()["Resources"]["Bucket"]
    properties = bucket["Properties"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert "BucketName" not in properties


def test_old_versions_and_abandoned_uploads_expire():
    rules = {rule["Id"]: rule for rule in rendered()["Resources"]["Bucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireOldVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rules["ExpireOldVersions"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert all("ExpirationInDays" not in rule for rule in rules.values())  # current objects are kept


def test_the_policy_denies_every_request_without_tls():
    statement = rendered()["Resources"]["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == ["s3:*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [{"Fn::GetAtt": ["Bucket", "Arn"]}, {"Fn::Sub": "${Bucket.Arn}/*"}]


def test_the_bucket_name_is_an_output_and_nothing_is_hard_coded():
    template = rendered()
    assert template["Outputs"][names.ASSETS_BUCKET]["Value"] == {"Ref": "Bucket"}
    text = json.dumps(template)
    assert "arn:aws" not in text and "us-east-1" not in text


def test_cfn_lint_finds_no_error_or_warning():
    from cfnlint.api import lint_all

    findings = [match for match in lint_all(bootstrap.build().to_json()) if match.rule.id[0] in "EW"]
    assert findings == []
