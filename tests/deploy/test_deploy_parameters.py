"""Root parameters: validated before AWS, then completed with the bucket, zip keys and image checks."""

from __future__ import annotations

import pytest
from deploy_helpers import FIXTURES, fixture_templates

from deployer import parameters
from deployer.errors import UsageError
from templates.config.loading import load

CONFIG = load(FIXTURES / "parameters", "staging")
ROOT = fixture_templates()["root.json"]


def test_the_plan_fills_what_it_can_and_lists_image_checks_for_declared_services_only():
    plan = parameters.plan(ROOT, CONFIG, ["Greeting=hi"], "v1", "abc1234")
    assert plan.given == {"Greeting": "hi", "ImageTag": "v1"}
    assert plan.lambda_assets == {"HealthCheckCodeKey": "lambda/health_check"}
    assert [(c.service, c.parameter, c.repository) for c in plan.image_checks] == [("api-service", "ApiServiceRunning", "demo/api-service")]
    values = parameters.resolve(plan, "bucket-1", {"HealthCheckCodeKey": "lambda/h/abc.zip"}, {"ApiServiceRunning": "false"}, {})
    assert values == {
        "ApiServiceRunning": "false",
        "AssetsBucket": "bucket-1",
        "Greeting": "hi",
        "HealthCheckCodeKey": "lambda/h/abc.zip",
        "ImageTag": "v1",
    }


KEEPING = dict(ROOT, Parameters=dict(ROOT["Parameters"], ApiServiceKeepDesiredCount={"Type": "String", "AllowedValues": ["true", "false"]}))


@pytest.mark.parametrize(
    ("before", "now", "kept"),
    [
        ({"ApiServiceRunning": "true"}, "true", "true"),  # a release of a running service: autoscaling's count stays
        ({}, "true", "false"),  # created: the minimum
        ({"ApiServiceRunning": "false"}, "true", "false"),  # its first image: the minimum
        ({"ApiServiceRunning": "true"}, "false", "false"),  # its image is gone: none
    ],
    ids=["release", "created", "first image", "no image"],
)
def test_a_release_of_a_running_service_keeps_its_desired_count(before, now, kept):
    plan = parameters.plan(KEEPING, CONFIG, [], "v1", None)
    assert plan.keep_counts == {"ApiServiceKeepDesiredCount": "ApiServiceRunning"}
    values = parameters.resolve(plan, "bucket-1", {}, {"ApiServiceRunning": now}, before)
    assert values["ApiServiceKeepDesiredCount"] == kept


def test_keeping_the_count_may_be_forced_and_then_is_not_computed():
    plan = parameters.plan(KEEPING, CONFIG, ["ApiServiceKeepDesiredCount=false"], "v1", None)
    assert plan.keep_counts == {}
    values = parameters.resolve(plan, "bucket-1", {}, {"ApiServiceRunning": "true"}, {"ApiServiceRunning": "true"})
    assert values["ApiServiceKeepDesiredCount"] == "false"


def test_the_image_tag_defaults_to_the_commit():
    assert parameters.plan(ROOT, CONFIG, [], None, "abc1234").given["ImageTag"] == "abc1234"


def test_a_running_flag_may_be_forced_and_then_is_not_looked_up():
    plan = parameters.plan(ROOT, CONFIG, ["ApiServiceRunning=false"], "v1", None)
    assert plan.image_checks == () and plan.given["ApiServiceRunning"] == "false"


def test_every_problem_is_reported_at_once():
    root = dict(ROOT, Parameters=dict(ROOT["Parameters"], Required={"Type": "String"}))
    with pytest.raises(UsageError) as raised:
        parameters.plan(root, CONFIG, ["Nope=1", "AssetsBucket=x", "bad", "Greeting=a", "Greeting=b"], None, None)
    assert str(raised.value).splitlines() == [
        "--param 'bad': expected KEY=VALUE",
        "--param Greeting: given twice",
        "--param AssetsBucket: set by deploy.py from the bootstrap stack's bucket; do not pass it",
        "--param Nope: root.json declares no such parameter; it declares ApiServiceRunning, AssetsBucket, Greeting, "
        "HealthCheckCodeKey, HealthCheckCodeVersion, ImageTag, Required",
        "no image tag: pass --image-tag TAG (the default, the git commit, needs a git checkout with a commit)",
        "parameter Required has no default in root.json: pass --param Required=VALUE",
    ]


@pytest.mark.parametrize("tag", [" ", "-rc1", ".hidden", "v1 && rm -rf /", "a/b", "ü", "x" * 129])
def test_an_image_tag_docker_cannot_give_is_refused(tag):
    with pytest.raises(UsageError) as raised:
        parameters.plan(ROOT, CONFIG, [], tag, None)
    assert str(raised.value).startswith("--image-tag ") and "not an image tag; expected up to 128 letters" in str(raised.value)


@pytest.mark.parametrize("tag", ["v1", "0123456789abcdef0123456789abcdef01234567", "release_2026.12-rc.1", "x" * 128])
def test_an_image_tag_docker_gives_is_taken(tag):
    assert parameters.plan(ROOT, CONFIG, [], tag, None).image_tag == tag


def test_the_code_version_is_deploy_pys_to_set():
    root = dict(ROOT, Parameters=dict(ROOT["Parameters"], HealthCheckCodeVersion={"Type": "String"}))
    assert parameters.plan(root, CONFIG, [], "v1", None).code_versions == {"HealthCheckCodeKey": "HealthCheckCodeVersion"}
    with pytest.raises(UsageError) as raised:
        parameters.plan(root, CONFIG, ["HealthCheckCodeVersion=1"], "v1", None)
    expected = "--param HealthCheckCodeVersion: set by deploy.py from the uploaded lambda/health_check zip's S3 version; do not pass it"
    assert str(raised.value) == expected


def test_a_root_without_images_or_lambdas_needs_no_tag():
    plan = parameters.plan({"Parameters": {"AssetsBucket": {"Type": "String"}}}, CONFIG, [], None, None)
    assert plan.image_tag is None and plan.image_checks == () and plan.lambda_assets == {}


def test_git_commit_outside_a_repository_is_none(tmp_path):
    assert parameters.git_commit(tmp_path) is None


WITH_ROLE = dict(ROOT, Parameters=dict(ROOT["Parameters"], DeployRoleArn={"Type": "String", "Default": ""}))
ROLE = "arn:aws:iam::123456789012:role/demo-staging-deploy"


@pytest.mark.parametrize(
    ("role_arn", "before", "passed"),
    [(ROLE, {}, ROLE), (None, {"DeployRoleArn": ROLE}, ROLE), (None, {}, "")],
    ids=["this deploy's role", "a laptop deploy keeps the role deployed before", "never deployed with a role"],
)
def test_the_key_policy_admits_the_role_cloudformation_deploys_with(role_arn, before, passed):
    plan = parameters.plan(WITH_ROLE, CONFIG, [], "v1", None)
    assert parameters.resolve(plan, "bucket-1", {}, {}, before, role_arn)["DeployRoleArn"] == passed


def test_the_deploy_role_parameter_is_deploy_pys_to_set():
    with pytest.raises(UsageError, match="--param DeployRoleArn: set by deploy.py from --role-arn; do not pass it"):
        parameters.plan(WITH_ROLE, CONFIG, [f"DeployRoleArn={ROLE}"], "v1", None)
