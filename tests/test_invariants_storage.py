"""Invariants of what the platform stores, on every configuration under test (see tests/test_invariants.py):
encrypted with the target's own key where the writer allows it, kept as long as the file says, retained when
stateful, never public."""

from __future__ import annotations

import json
import re

from templates import names
from templates.config.compliance import COMPLIANCE_LOG_RETENTION_DAYS
from templates.stacks import bootstrap
from tests.templates.helpers import every, policy_statements, resources_of_type, target_of

# What the KMS Developer Guide's default key policy lets key administrators do ("Allows key administrators to
# administer the KMS key"): without it the account could lose control of its own key.
KEY_ADMINISTRATION = {
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
}
# What the services that encrypt with a target's key need of it: CloudWatch Logs for its log groups (CloudWatch
# Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS"), the topic's publishers for their messages.
LOGS_ENCRYPT = {"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"}
PUBLISHERS_ENCRYPT = {"kms:Decrypt", "kms:GenerateDataKey*"}
STATEFUL = ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::ECR::Repository", "AWS::SecretsManager::Secret")
# Who delivers logs into a bucket accepts SSE-S3 only: ALB access logs, S3 server access logs.
LOG_DELIVERY = {"logdelivery.elasticloadbalancing.amazonaws.com", "logging.s3.amazonaws.com"}


def settings(configured):
    """The section of the target's file that both environments and the pipeline carry (logs, protected)."""
    return configured.config.pipeline if configured.is_pipeline else configured.config.environment


def is_own_key(template: dict, value) -> bool:
    """The target's own KMS key: the environment's, passed in as a parameter, or a key of this template."""
    target = target_of(value)
    if target is None:
        return False
    if "Ref" in value:
        return target == names.ENVIRONMENT_KEY_ARN and target in template.get("Parameters", {})
    return value["Fn::GetAtt"][1] == "Arn" and template["Resources"].get(target, {}).get("Type") == "AWS::KMS::Key"


def principals(statement: dict) -> list:
    principal = statement.get("Principal", {})
    if principal == "*":
        return ["*"]
    found = []
    for value in principal.values():
        found += value if isinstance(value, list) else [value]
    return found


def services(statement: dict) -> list:
    service = statement.get("Principal", {}).get("Service", []) if isinstance(statement.get("Principal"), dict) else []
    return service if isinstance(service, list) else [service]


# --- log groups ---------------------------------------------------------------------------------


def test_log_groups_follow_the_files_retention_encryption_and_protection(configured_target):
    section = settings(configured_target)
    groups = list(every(configured_target.rendered, "AWS::Logs::LogGroup"))
    assert groups
    for where, template, group in groups:
        properties = group["Properties"]
        assert properties["RetentionInDays"] == section.logs.retention_days, where
        assert ("KmsKeyId" in properties) is section.logs.kms_encrypted, where
        assert "KmsKeyId" not in properties or is_own_key(template, properties["KmsKeyId"]), where
        assert (group["DeletionPolicy"] == "Retain") is section.protected, where
        assert group["UpdateReplacePolicy"] == group["DeletionPolicy"], where


# --- buckets ------------------------------------------------------------------------------------


def bucket_policy_statements(template: dict, logical_id: str) -> list[dict]:
    return [
        statement
        for policy in resources_of_type(template, "AWS::S3::BucketPolicy").values()
        if target_of(policy["Properties"]["Bucket"]) == logical_id
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def written_by_log_delivery(template: dict, logical_id: str) -> bool:
    return any(set(services(s)) & LOG_DELIVERY for s in bucket_policy_statements(template, logical_id) if s["Effect"] == "Allow")


def assert_hardened(where: str, template: dict, logical_id: str, algorithm: str) -> None:
    """Encrypted (``algorithm``), versioned, private, owner-enforced, TLS-only, expiring what it no longer needs."""
    properties = template["Resources"][logical_id]["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    encryption = rule["ServerSideEncryptionByDefault"]
    assert encryption["SSEAlgorithm"] == algorithm, where
    if algorithm == "aws:kms":
        assert is_own_key(template, encryption["KMSMasterKeyID"]) and rule["BucketKeyEnabled"] is True, where
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}, where
    block = properties["PublicAccessBlockConfiguration"]
    assert set(block) == {"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"}, where
    assert all(value is True for value in block.values()), where
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}, where
    rules = properties["LifecycleConfiguration"]["Rules"]
    assert all(r["Status"] == "Enabled" for r in rules), where
    assert any(r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays", 0) > 0 for r in rules), where
    assert any(r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation", 0) > 0 for r in rules), where
    statements = bucket_policy_statements(template, logical_id)
    denies = [s for s in statements if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
    assert denies, f"{where}: no TLS-only deny"
    bucket_arn = {"Fn::GetAtt": [logical_id, "Arn"]}
    objects = ({"Fn::Join": ["", [bucket_arn, "/*"]]}, {"Fn::Sub": f"${{{logical_id}.Arn}}/*"})
    for deny in denies:
        assert principals(deny) == ["*"] and deny["Action"] in ("s3:*", ["s3:*"]), where
        (bucket, contents) = deny["Resource"]
        assert bucket == bucket_arn and contents in objects, f"{where}: the deny covers the bucket and its objects"
    for allow in (s for s in statements if s["Effect"] == "Allow"):
        assert "*" not in principals(allow) and services(allow), f"{where}: {allow.get('Sid')} must name a service, never everyone"
        # For this account only: by condition, or by writing under this account's prefix alone (ALB access logs).
        assert allow["Resource"], f"{where}: {allow.get('Sid')}"
        this_account = allow.get("Condition") == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}} or all(
            "/AWSLogs/${AWS::AccountId}/" in json.dumps(resource) for resource in allow["Resource"]
        )
        assert this_account, f"{where}: {allow.get('Sid')}: for this account only"


def test_every_bucket_is_encrypted_versioned_private_and_tls_only(configured_target):
    """SSE-S3 exactly where a log-delivery service writes (it accepts nothing else), else the target's own key."""
    buckets = list(every(configured_target.rendered, "AWS::S3::Bucket"))
    assert buckets
    for where, template, _ in buckets:
        logical_id = where.split(": ")[1]
        assert_hardened(where, template, logical_id, "AES256" if written_by_log_delivery(template, logical_id) else "aws:kms")


def test_the_bootstrap_bucket_is_hardened_like_every_other():
    """SSE-S3 by decision (templates/stacks/bootstrap.py): code and templates, read by CloudFormation and Lambda."""
    template = json.loads(bootstrap.build().to_json())
    (logical_id,) = resources_of_type(template, "AWS::S3::Bucket")
    assert_hardened(f"bootstrap: {logical_id}", template, logical_id, "AES256")
    resource = template["Resources"][logical_id]
    assert resource["DeletionPolicy"] == "Retain" == resource["UpdateReplacePolicy"], f"bootstrap: {logical_id}"
    assert target_of(template["Outputs"][names.ASSETS_BUCKET]["Value"]) == logical_id, f"bootstrap: {logical_id}"
    for policy_id, policy in resources_of_type(template, "AWS::S3::BucketPolicy").items():
        assert policy["Properties"]["PolicyDocument"]["Version"] == "2012-10-17", f"bootstrap: {policy_id}"


def expiry(template: dict, logical_id: str) -> set[int]:
    rules = template["Resources"][logical_id]["Properties"]["LifecycleConfiguration"]["Rules"]
    days = [(r.get("ExpirationInDays"), r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")) for r in rules]
    return {d for pair in days for d in pair if d}


def assert_load_balancer_may_deliver(file: str, template: dict, bucket: str, prefix: str) -> None:
    """ELB writes the access logs under the prefix for this account: as its service principal, and in the regions
    opened before August 2022 as that region's ELB account (Elastic Load Balancing guide, "Enable access logs")."""
    where = f"{file}: {bucket}"
    (delivery,) = [s for s in bucket_policy_statements(template, bucket) if s["Effect"] == "Allow"]
    assert services(delivery) == ["logdelivery.elasticloadbalancing.amazonaws.com"], where
    assert delivery["Action"] in ("s3:PutObject", ["s3:PutObject"]), where
    assert delivery["Resource"] == [{"Fn::Sub": f"${{{bucket}.Arn}}/{prefix}/AWSLogs/${{AWS::AccountId}}/*"}], where
    legacy = delivery["Principal"]["AWS"]["Fn::If"]
    (mapping,) = {v["Fn::FindInMap"][0] for v in legacy[1]["Fn::Sub"][1].values()}
    accounts = template["Mappings"][mapping]
    assert accounts and all(re.fullmatch(r"[0-9]{12}", a["Account"]) for a in accounts.values()), f"{file}: {mapping}"
    regions = {e["Fn::Equals"][1] for group in template["Conditions"][legacy[0]]["Fn::Or"] for e in group["Fn::Or"]}
    assert regions == set(accounts) and legacy[2] == {"Ref": "AWS::NoValue"}, f"{file}: {legacy[0]}"


def test_each_bucket_keeps_its_objects_as_long_as_the_file_says(configured_target):
    """Access logs, server access logs, the log archive and the pipeline's artifacts: current and old versions alike."""
    cfg, checked = configured_target.config, 0
    for file, template in configured_target.rendered.items():
        kept = {}
        for logical_id, alb in resources_of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").items():
            attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
            assert attributes["access_logs.s3.enabled"] == "true", f"{file}: {logical_id}"
            bucket = target_of(attributes["access_logs.s3.bucket"])
            kept[bucket] = cfg.environment.load_balancer.access_log_expiry_days
            assert_load_balancer_may_deliver(file, template, bucket, attributes["access_logs.s3.prefix"])
        for stream in resources_of_type(template, "AWS::KinesisFirehose::DeliveryStream").values():
            archive = target_of(stream["Properties"]["ExtendedS3DestinationConfiguration"]["BucketARN"])
            kept[archive] = cfg.environment.logs.archive_expiry_days
        for logical_id in resources_of_type(template, "AWS::S3::Bucket"):
            if "logging.s3.amazonaws.com" in {p for s in bucket_policy_statements(template, logical_id) for p in services(s)}:
                kept[logical_id] = COMPLIANCE_LOG_RETENTION_DAYS  # server access logs: a year, as a compliant log group
        for pipeline in resources_of_type(template, "AWS::CodePipeline::Pipeline").values():
            kept[target_of(pipeline["Properties"]["ArtifactStore"]["Location"])] = cfg.pipeline.artifacts.expiry_days
        for logical_id, days in kept.items():
            assert expiry(template, logical_id) == {days}, f"{file}: {logical_id}"
            checked += 1
    assert checked >= 1
    if not configured_target.is_pipeline:
        archives = list(every(configured_target.rendered, "AWS::KinesisFirehose::DeliveryStream"))
        assert bool(archives) is cfg.environment.logs.archive, "monitoring.json: the log archive exists exactly where logs.archive is true"


def test_with_compliance_every_bucket_logs_its_access_to_the_templates_log_bucket(configured_environment):
    compliant = configured_environment.config.environment.compliance == "control-tower"
    for file, template in configured_environment.rendered.items():
        buckets = resources_of_type(template, "AWS::S3::Bucket")
        log_buckets = {
            logical_id
            for logical_id in buckets
            for s in bucket_policy_statements(template, logical_id)
            if s["Effect"] == "Allow" and "logging.s3.amazonaws.com" in services(s)
        }
        assert bool(log_buckets) is (compliant and bool(buckets)), f"{file}: server access log bucket"
        for logical_id, bucket in buckets.items():
            logging = bucket["Properties"].get("LoggingConfiguration")
            if compliant and logical_id not in log_buckets:
                destination = target_of(logging["DestinationBucketName"])
                assert destination in log_buckets, f"{file}: {logical_id}"
                assert logging["LogFilePrefix"] == f"{logical_id}/", f"{file}: {logical_id}"
                # S3 checks it may deliver there when logging is turned on: the destination's policy comes first.
                bucket_policies = resources_of_type(template, "AWS::S3::BucketPolicy").items()
                policies = [i for i, p in bucket_policies if target_of(p["Properties"]["Bucket"]) == destination]
                assert set(policies) <= set(bucket.get("DependsOn", [])), f"{file}: {logical_id}: waits for {policies}"
            else:
                assert logging is None, f"{file}: {logical_id}"


# --- keys, topics, secrets and whatever else holds data -----------------------------------------


def test_every_key_rotates_and_admits_only_this_account_and_aws_services(configured_target):
    keys = list(every(configured_target.rendered, "AWS::KMS::Key"))
    assert keys
    for where, _, key in keys:
        properties = key["Properties"]
        assert properties["EnableKeyRotation"] is True, where
        statements = policy_statements(properties["KeyPolicy"])
        for statement in (s for s in statements if s["Effect"] == "Allow"):
            who = principals(statement)
            assert who and "*" not in who, f"{where}: {statement['Sid']}"
            account = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            # this account, or the role this environment is deployed with (it updates the key's policy)
            admitted = (account, {"Ref": names.DEPLOY_ROLE_ARN})
            assert all(p in admitted for p in statement["Principal"].get("AWS", [])), f"{where}: {statement['Sid']}"
            assert not services(statement) or statement.get("Condition"), f"{where}: {statement['Sid']}: a service, for this account only"
        account = {"AWS": [{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}]}
        administration = {a for s in statements if s["Effect"] == "Allow" and s["Principal"] == account for a in s["Action"]}
        assert administration >= KEY_ADMINISTRATION and "kms:*" not in administration, f"{where}: the account administers its key"
        logs = [s for s in statements if s["Effect"] == "Allow" and {"Fn::Sub": "logs.${AWS::Region}.${AWS::URLSuffix}"} in services(s)]
        assert logs or not settings(configured_target).logs.kms_encrypted, f"{where}: CloudWatch Logs cannot encrypt the log groups"
        logs_arn = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
        for statement in logs:
            assert set(statement["Action"]) >= LOGS_ENCRYPT, f"{where}: {statement['Sid']}"
            context = {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": {"Fn::Sub": logs_arn}}}
            assert statement["Condition"] == context, f"{where}: {statement['Sid']}: this account's log groups only"
        publishers = [s for s in statements if s["Effect"] == "Allow" and "events.amazonaws.com" in services(s)]
        assert publishers and all(set(s["Action"]) >= PUBLISHERS_ENCRYPT for s in publishers), f"{where}: the topic's publishers encrypt"
        grants = [s for s in statements if s["Effect"] == "Deny" and s["Action"] in ("kms:CreateGrant", ["kms:CreateGrant"])]
        assert [s["Condition"] for s in grants] == [
            {"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}}
        ], f"{where}: only AWS services create grants"


def test_every_topic_is_encrypted_with_the_targets_key_and_only_aws_services_publish(configured_target):
    topics = list(every(configured_target.rendered, "AWS::SNS::Topic"))
    assert topics
    for where, template, topic in topics:
        assert is_own_key(template, topic["Properties"]["KmsMasterKeyId"]), where
        logical_id = where.split(": ")[1]
        statements = [
            s
            for policy in resources_of_type(template, "AWS::SNS::TopicPolicy").values()
            if {"Ref": logical_id} in policy["Properties"]["Topics"]
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert statements, f"{where}: no topic policy"
        for statement in statements:
            assert statement["Effect"] == "Allow" and statement["Action"] in ("sns:Publish", ["sns:Publish"]), where
            assert services(statement) and "*" not in principals(statement), where
            assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Fn::Sub": "${AWS::AccountId}"}}}, where


def test_every_secret_is_generated_and_encrypted_with_the_environments_key(configured_environment):
    secrets = list(every(configured_environment.rendered, "AWS::SecretsManager::Secret"))
    assert secrets
    for where, template, secret in secrets:
        properties = secret["Properties"]
        assert is_own_key(template, properties["KmsKeyId"]), where
        assert "SecretString" not in properties and properties["GenerateSecretString"]["PasswordLength"] >= 32, where


def test_functions_streams_builds_and_artifacts_are_encrypted_with_the_targets_key(configured_target):
    found = 0
    for where, template, function in every(configured_target.rendered, "AWS::Lambda::Function"):
        assert is_own_key(template, function["Properties"]["KmsKeyArn"]), where  # its environment variables
        found += 1
    for where, template, stream in every(configured_target.rendered, "AWS::KinesisFirehose::DeliveryStream"):
        properties = stream["Properties"]
        given = properties["DeliveryStreamEncryptionConfigurationInput"]
        assert given["KeyType"] == "CUSTOMER_MANAGED_CMK" and is_own_key(template, given["KeyARN"]), where
        destination = properties["ExtendedS3DestinationConfiguration"]["EncryptionConfiguration"]["KMSEncryptionConfig"]
        assert is_own_key(template, destination["AWSKMSKeyARN"]), where
    for where, template, project in every(configured_target.rendered, "AWS::CodeBuild::Project"):
        assert is_own_key(template, project["Properties"]["EncryptionKey"]), where
        found += 1
    for where, template, pipeline in every(configured_target.rendered, "AWS::CodePipeline::Pipeline"):
        store = pipeline["Properties"]["ArtifactStore"]
        assert store["EncryptionKey"]["Type"] == "KMS" and is_own_key(template, store["EncryptionKey"]["Id"]), where
    assert found


def test_every_repository_scans_is_immutable_encrypted_and_expires_as_the_file_says(configured_pipeline):
    settings_ = configured_pipeline.config.pipeline.ecr
    repositories = list(every(configured_pipeline.rendered, "AWS::ECR::Repository"))
    assert len(repositories) == len(configured_pipeline.config.project.services)
    for where, _, repository in repositories:
        properties = repository["Properties"]
        assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}, where
        assert properties["ImageTagMutability"] == "IMMUTABLE", where
        assert properties["EncryptionConfiguration"]["EncryptionType"] in ("KMS", "KMS_DSSE"), where
        rules = json.loads(properties["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        priorities = [r["rulePriority"] for r in rules]
        assert all(isinstance(p, int) and p > 0 for p in priorities) and len(set(priorities)) == len(rules), where
        selections = {r["selection"]["tagStatus"]: r["selection"] for r in rules if r["action"] == {"type": "expire"}}
        assert selections["untagged"]["countType"] == "sinceImagePushed" and selections["untagged"]["countUnit"] == "days", where
        assert selections["untagged"]["countNumber"] == settings_.untagged_expiry_days, where
        # ECR accepts a rule on tagged images only with the tags it selects: every tag here.
        assert selections["tagged"]["countType"] == "imageCountMoreThan" and selections["tagged"]["tagPatternList"] == ["*"], where
        assert selections["tagged"]["countNumber"] == settings_.keep_tagged_images, where


def test_stateful_resources_are_retained(configured_target):
    """Buckets, keys, repositories and secrets outlive their stack; every target has some of them."""
    own = "AWS::ECR::Repository" if configured_target.is_pipeline else "AWS::SecretsManager::Secret"
    kinds = {"AWS::S3::Bucket", "AWS::KMS::Key", own}
    found = set()
    for resource_type in STATEFUL:
        for where, _, resource in every(configured_target.rendered, resource_type):
            assert resource.get("DeletionPolicy") == "Retain" == resource.get("UpdateReplacePolicy"), where
            found.add(resource_type)
    assert found >= kinds
