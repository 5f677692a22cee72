"""compliance: control-tower in the configuration model, and what the templates do for the controls."""

from __future__ import annotations

import pytest

from templates import config as config_module
from tests.conftest import ALL_TARGETS, SAMPLE, render_target
from tests.templates.helpers import as_deployed

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"


def resources(rendered: dict[str, dict], kind: str):
    for name, template in rendered.items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == kind:
                yield name, logical_id, resource.get("Properties", {})


# --- the setting ------------------------------------------------------------------------------


def test_shipped_production_turns_compliance_on():
    environment = config_module.load(SAMPLE, "production").environment
    assert environment.compliance == "control-tower"
    assert environment.logs.retention_days >= 365 and environment.logs.kms_encrypted
    assert environment.load_balancer.deletion_protection and environment.load_balancer.certificate_arn
    assert environment.cluster.container_insights == "enabled"


def test_compliance_turns_on_what_the_file_leaves_out(make_config):
    cfg = make_config(
        environment={
            "compliance": "control-tower",
            "logs": None,
            "load_balancer": {"certificate_arn": CERTIFICATE, "domain_name": "shop.example.com", "deletion_protection": None},
            "cluster": {"container_insights": None},
        }
    )
    assert cfg.compliant
    assert (cfg.environment.logs.retention_days, cfg.environment.logs.kms_encrypted) == (365, True)
    assert cfg.environment.load_balancer.deletion_protection is True
    assert cfg.environment.cluster.container_insights == "enabled"


def test_compliance_keeps_a_longer_retention(make_config):
    cfg = make_config(
        environment={
            "compliance": "control-tower",
            "logs": {"retention_days": 731, "kms_encrypted": None},
            "load_balancer": {"certificate_arn": CERTIFICATE, "domain_name": "shop.example.com", "deletion_protection": None},
        }
    )
    assert cfg.environment.logs.retention_days == 731


def test_without_compliance_nothing_is_turned_on(make_config):
    cfg = make_config()  # staging as shipped
    assert not cfg.compliant
    assert (cfg.environment.logs.retention_days, cfg.environment.logs.kms_encrypted) == (30, False)
    assert cfg.environment.load_balancer.deletion_protection is False


CONTRADICTIONS = [
    ("logs", "retention_days", 30, "365 or more"),
    ("logs", "kms_encrypted", False, "true, or omit it"),
    ("load_balancer", "deletion_protection", False, "true, or omit it"),
    ("cluster", "container_insights", "enhanced", "'enabled', or omit it"),
    ("cluster", "container_insights", "disabled", "'enabled', or omit it"),
]


@pytest.mark.parametrize("section, key, value, accepted", CONTRADICTIONS, ids=[f"{c[0]}.{c[1]}={c[2]}" for c in CONTRADICTIONS])
def test_a_setting_that_contradicts_compliance_is_refused_in_one_line(make_config, section, key, value, accepted):
    environment = {
        "compliance": "control-tower",
        "logs": {"retention_days": None, "kms_encrypted": None},
        "load_balancer": {"certificate_arn": CERTIFICATE, "domain_name": "shop.example.com", "deletion_protection": None},
        "cluster": {"container_insights": None},
    }
    environment[section] = {**environment[section], key: value}
    with pytest.raises(config_module.ConfigError) as error:
        make_config(environment=environment)
    assert len(error.value.problems) == 1
    line = error.value.problems[0]
    assert f"staging.yaml: {section}.{key}: {value!r} is not accepted with compliance: control-tower; expected {accepted}" in line


def test_staging_under_compliance_lists_every_contradiction(make_config):
    with pytest.raises(config_module.ConfigError) as error:
        make_config(environment={"compliance": "control-tower"})
    keys = [line.split(": ")[1] for line in error.value.problems]
    assert keys == ["logs.retention_days", "logs.kms_encrypted", "load_balancer.deletion_protection", "load_balancer.certificate_arn"]
    assert "expected an ACM certificate ARN, or compliance: none" in error.value.problems[-1]


def test_an_unknown_compliance_mode_is_refused(make_config):
    with pytest.raises(config_module.ConfigError) as error:
        make_config(environment={"compliance": "pci"})
    assert error.value.problems == [
        f"{error.value.problems[0].split(':')[0]}: compliance: 'pci' is not accepted; expected one of 'none', 'control-tower'"
    ]


# --- what the templates do ---------------------------------------------------------------


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_every_bucket_policy_denies_plain_http_in_the_form_the_control_reads(target):
    for name, logical_id, properties in resources(render_target(target), "AWS::S3::BucketPolicy"):
        statement = properties["PolicyDocument"]["Statement"][0]
        bucket = properties["Bucket"]["Ref"]
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == ["s3:*"], logical_id
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        arn = {"Fn::GetAtt": [bucket, "Arn"]}
        assert statement["Resource"] == [arn, {"Fn::Join": ["", [arn, "/*"]]}], f"{target}/{name}: {logical_id}"


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_every_key_lets_only_aws_services_create_grants(target):
    keys = list(resources(render_target(target), "AWS::KMS::Key"))
    assert keys
    for _, logical_id, properties in keys:
        deny = [s for s in properties["KeyPolicy"]["Statement"] if s.get("Effect") == "Deny" and s["Action"] == ["kms:CreateGrant"]]
        assert deny == [
            {
                "Sid": "OnlyAwsServicesCreateGrants",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["kms:CreateGrant"],
                "Resource": ["*"],
                "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
            }
        ], logical_id


@pytest.mark.parametrize("target", [t for t in ALL_TARGETS if t != "pipeline"])
def test_every_container_has_a_memory_limit_within_its_task(target):
    for _, logical_id, properties in resources(as_deployed(render_target(target)), "AWS::ECS::TaskDefinition"):
        for container in properties["ContainerDefinitions"]:
            assert 4 <= container["Memory"] <= int(properties["Memory"]), logical_id


def test_compliant_production_logs_every_bucket_into_a_server_access_log_bucket():
    rendered = render_target("production")
    buckets = {(name, logical_id): p for name, logical_id, p in resources(rendered, "AWS::S3::Bucket")}
    logged = {key for key, p in buckets.items() if "LoggingConfiguration" in p}
    assert logged == {key for key in buckets if key[1] != "ServerAccessLogBucket"}
    for name, logical_id in logged:
        assert buckets[(name, logical_id)]["LoggingConfiguration"] == {
            "DestinationBucketName": {"Ref": "ServerAccessLogBucket"},
            "LogFilePrefix": f"{logical_id}/",
        }
        policy = rendered[name]["Resources"]["ServerAccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        delivery = next(s for s in policy if s["Sid"] == "S3DeliversServerAccessLogs")
        assert delivery["Principal"] == {"Service": ["logging.s3.amazonaws.com"]} and delivery["Action"] == ["s3:PutObject"]
        assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


@pytest.mark.parametrize("target", ["staging", "dev"])
def test_environments_without_compliance_add_no_log_bucket(target):
    assert not [r for r in resources(render_target(target), "AWS::S3::Bucket") if r[1] == "ServerAccessLogBucket"]


def test_compliant_production_listeners_are_https_or_redirect():
    listeners = {lid: p for _, lid, p in resources(render_target("production"), "AWS::ElasticLoadBalancingV2::Listener")}
    assert listeners["HttpListener"]["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"
    assert {lid for lid, p in listeners.items() if p["Protocol"] == "HTTPS"} == {"HttpsListener", "TestListener"}
