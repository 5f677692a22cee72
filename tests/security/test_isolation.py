"""Isolation by names and tags, where environments share an account: the staging deploy role and the staging
permissions boundary, evaluated over their rendered policies, are denied every request on production's resources,
and allowed the same request on staging's own (so a denial is the scoping's doing, not a request no policy covers).

The release roles (the builds that run deploy.py) likewise write the shared assets bucket only under their own
target's prefixes.  The configuration is examples/complete: every optional feature on in both targets the pipeline
deploys.
"""

from __future__ import annotations

import functools

import pytest
from troposphere import encode_to_dict

from security.iam_evaluator import Request, allows, concrete
from templates.config import load_pipeline
from templates.iam import deploy_roles
from templates.render import render, render_environment
from tests.conftest import REPO

COMPLETE = REPO / "examples" / "complete"
ACCOUNT, REGION = "111122223333", "us-east-1"
KEY = "key/1234abcd-12ab-34cd-56ef-1234567890ab"
RULE = "listener-rule/app/lb/1/2/3"


@pytest.fixture(scope="module")
def environments():
    config = load_pipeline(COMPLETE)
    targets = ("staging", "production")
    return {t: deploy_roles.Environment(config.project.name, t, render_environment(config.environment(t))) for t in targets}


def statements(found: list) -> list[dict]:
    return [concrete(encode_to_dict(s), {"Bucket": "full-bootstrap-assets"}) for s in found]


def arn(service: str, tail: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{tail}"


def requests(target: str) -> dict[str, Request]:
    """What an attacker in staging would ask of ``target``'s resources (by name, and by its Target tag)."""
    prefix = f"full-{target}"
    tagged = {"Target": target, "Project": "full"}
    domain = {"staging": "staging.full.example.com", "production": "full.example.com"}[target]
    return {
        "update its root stack": Request("cloudformation:UpdateStack", arn("cloudformation", f"stack/{prefix}/1f2e3d4c")),
        "put a policy on its roles": Request(
            "iam:PutRolePolicy",
            f"arn:aws:iam::{ACCOUNT}:role/{prefix}-HealthCheckStack-1-HookRole-2",
            context={"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/{prefix}-boundary"},
        ),
        "pass its roles to Lambda": Request(
            "iam:PassRole",
            f"arn:aws:iam::{ACCOUNT}:role/{prefix}-HealthCheckStack-1-HookRole-2",
            context={"iam:PassedToService": "lambda.amazonaws.com"},
        ),
        "change its hook's code": Request("lambda:UpdateFunctionCode", arn("lambda", f"function:{prefix}-health-hook")),
        "read a service's secret": Request("secretsmanager:GetSecretValue", arn("secretsmanager", f"secret:{prefix}-api/app-aB3dEf")),
        "overwrite a setting": Request("ssm:PutParameter", arn("ssm", f"parameter/{prefix}/api-service/LOG_LEVEL")),
        "delete its topic": Request("sns:DeleteTopic", arn("sns", f"{prefix}-alerts")),
        "delete a log group": Request("logs:DeleteLogGroup", arn("logs", f"log-group:/ecs/{prefix}/api-service-0a1b2c3d4e5f")),
        "drop a bucket's policy": Request("s3:DeleteBucketPolicy", f"arn:aws:s3:::{prefix}-monitoringstack-1-archivebucket-2"),
        "rewrite a listener rule": Request("elasticloadbalancing:ModifyRule", arn("elasticloadbalancing", RULE), tags=tagged),
        "delete a security group": Request("ec2:DeleteSecurityGroup", arn("ec2", "security-group/sg-0123456789abcdef0"), tags=tagged),
        "take over an untagged network interface": Request(
            "ec2:CreateTags", arn("ec2", "network-interface/eni-0123456789abcdef0"), request_tags={"Target": "staging"}
        ),
        "schedule its key's deletion": Request("kms:ScheduleKeyDeletion", arn("kms", KEY), tags=tagged),
        "scale a service away": Request(
            "application-autoscaling:DeregisterScalableTarget", arn("application-autoscaling", "scalable-target/0123"), tags=tagged
        ),
        "update a service": Request("ecs:UpdateService", arn("ecs", f"service/{prefix}/{prefix}-api-service")),
        "delete an alarm": Request("cloudwatch:DeleteAlarms", arn("cloudwatch", f"alarm:{prefix}-api-service-target5xx")),
        "delete a rule": Request("events:DeleteRule", arn("events", f"rule/{prefix}-canary")),
        "delete an off-hours schedule": Request("scheduler:DeleteSchedule", arn("scheduler", f"schedule/default/{prefix}-offhours-on")),
        "delete the archive stream": Request("firehose:DeleteDeliveryStream", arn("firehose", f"deliverystream/{prefix}-archive")),
        "repoint its domain": Request(
            "route53:ChangeResourceRecordSets",
            "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ",
            context={deploy_roles.RECORD_NAMES_KEY: [domain]},
        ),
    }


def test_the_deploy_role_reaches_its_own_environment_and_never_the_others(environments):
    role = statements(deploy_roles.deploy_statements(environments["staging"], {"Ref": "AssetsBucket"}))
    own = {name: r for name, r in requests("staging").items() if name != "take over an untagged network interface"}
    assert [name for name, r in own.items() if not allows(role, r)] == []
    assert [name for name, r in requests("production").items() if allows(role, r)] == []


def runtime_requests(target: str) -> dict[str, Request]:
    """What the roles an environment creates do at run time: on its own resources, the boundary's positive controls."""
    tagged = {"Target": target, "Project": "full"}
    prefix = f"full-{target}"
    return {
        "rewrite a listener rule": Request("elasticloadbalancing:ModifyRule", arn("elasticloadbalancing", RULE), tags=tagged),
        "decrypt with its key": Request("kms:Decrypt", arn("kms", KEY), tags=tagged),
        "read a service's secret": Request("secretsmanager:GetSecretValue", arn("secretsmanager", f"secret:{prefix}-api/app-aB3dEf")),
        "write a log stream": Request("logs:PutLogEvents", arn("logs", f"log-group:/ecs/{prefix}/api-service-0a1b:log-stream:x")),
    }


def test_the_boundary_caps_every_role_of_the_environment_to_its_own_resources(environments):
    """A staging role, whatever inline policy it is given, cannot shift production's traffic or decrypt with its key."""
    boundary = statements(deploy_roles.boundary_statements(environments["staging"]))
    assert [name for name, r in runtime_requests("staging").items() if not allows(boundary, r)] == []
    assert [name for name, r in runtime_requests("production").items() if allows(boundary, r)] == []


BUCKET = "full-bootstrap-assets"


@functools.cache
def pipeline_root() -> dict:
    return render(load_pipeline(COMPLETE))["root.json"]


def release_role(target: str) -> list[dict]:
    """The inline statements of ``target``'s release role (the CodeBuild role that runs deploy.py), as rendered."""
    role = pipeline_root()["Resources"][f"{target.capitalize()}ReleaseRole"]["Properties"]
    return [concrete(s, {"AssetsBucket": BUCKET}) for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def asset(key: str) -> str:
    return f"arn:aws:s3:::{BUCKET}/{key}"


@pytest.mark.parametrize(("target", "other"), [("staging", "production"), ("production", "staging")])
def test_a_release_writes_only_its_own_targets_packages_and_records(target, other):
    """A staging build must not plant bytes under a key production deploys, nor forge production's deploy record."""
    role = release_role(target)
    writes = {
        "upload its package": Request("s3:PutObject", asset(f"targets/{target}/lambda/health_check/0a1b.zip")),
        "record its deploy": Request("s3:PutObject", asset(f"deploys/{target}/20261204T120000Z/manifest.json")),
    }
    assert [name for name, r in writes.items() if not allows(role, r)] == []
    planted = {
        "plant a package": Request("s3:PutObject", asset(f"targets/{other}/lambda/health_check/0a1b.zip")),
        "plant a template": Request("s3:PutObject", asset(f"targets/{other}/templates/root/0a1b.json")),
        "forge a deploy record": Request("s3:PutObject", asset(f"deploys/{other}/20261204T120000Z/manifest.json")),
        "write outside any target": Request("s3:PutObject", asset("lambda/health_check/0a1b.zip")),
    }
    assert [name for name, r in planted.items() if allows(role, r)] == []
