"""The pipeline target: stages, parallel builds, approval, triggers, ECR, roles and notifications."""

from __future__ import annotations

import json

import pytest
import yaml

from builder.lint import lint_template
from templates import names
from templates.render import render, to_json
from templates.stacks.pipeline.stages import commit_variable
from tests.conftest import make_services
from tests.templates.helpers import props, resources_of_type
from tests.templates.test_buildspec import OTHER_LAYOUT

SMALL = {"build": {"test_commands": []}, "integration_tests": []}


@pytest.fixture
def cfg(make_pipeline_config):
    return make_pipeline_config()


def rendered_root(cfg) -> dict:
    return render(cfg)[names.ROOT_TEMPLATE]


def stages(root: dict) -> list[dict]:
    return props(root, "Pipeline")["Stages"]


def stage(root: dict, name: str) -> dict:
    return next(s for s in stages(root) if s["Name"] == name)


def action(root: dict, name: str) -> dict:
    return next(a for s in stages(root) for a in s["Actions"] if a["Name"] == name)


def statements(template: dict, role: str) -> list[dict]:
    return [s for p in props(template, role)["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_stages_run_from_source_to_production(cfg):
    root = rendered_root(cfg)
    assert [s["Name"] for s in stages(root)] == ["Source", "Build", "DeployStaging", "IntegrationTest", "Approval", "DeployProduction"]
    assert props(root, "Pipeline")["PipelineType"] == "V2"


def test_every_service_builds_in_parallel_tagged_with_the_full_commit_id(cfg):
    build = stage(rendered_root(cfg), "Build")["Actions"]
    assert [a["Name"] for a in build] == ["Build-api-service", "Build-auth-service", "Build-notification-service"]
    assert {a["RunOrder"] for a in build} == {1}
    variables = json.loads(build[0]["Configuration"]["EnvironmentVariables"])
    assert {"name": "IMAGE_TAG", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"} in variables


def test_thirty_services_still_build_in_one_parallel_group(make_pipeline_config):
    cfg = make_pipeline_config(project={"services": make_services(30)}, pipeline=SMALL)
    builds = [a for a in stage(rendered_root(cfg), "Build")["Actions"] if a["Name"].startswith("Build-")]
    assert len(builds) == 30 and {a["RunOrder"] for a in builds} == {1}


def release_variables(root: dict, name: str) -> dict:
    """A deploy.py action's environment variables, the deploy role's ARN resolved from its Fn::Sub."""
    text, values = action(root, name)["Configuration"]["EnvironmentVariables"]["Fn::Sub"]
    assert values == {"DeployRoleArn": {"Fn::GetAtt": [values["DeployRoleArn"]["Fn::GetAtt"][0], "Arn"]}}
    return {v["name"]: v["value"] for v in json.loads(text)} | {"role": values["DeployRoleArn"]["Fn::GetAtt"][0]}


def buildspec_of(root: dict, name: str) -> dict:
    project = action(root, name)["Configuration"]["ProjectName"]["Ref"]
    return yaml.safe_load(props(root, project)["Source"]["BuildSpec"])


def test_staging_is_deployed_by_deploy_py_with_its_role_and_the_commits_image(cfg):
    root = rendered_root(cfg)
    assert action(root, "DeployStaging")["ActionTypeId"]["Provider"] == "CodeBuild"
    assert release_variables(root, "DeployStaging") == {
        "DEPLOY_TARGET": "staging", "STACK_NAME": "shop-staging", "DEPLOY_ROLE_ARN": "${DeployRoleArn}",
        "IMAGE_TAG": "#{SourceVariables.CommitId}", "role": "StagingDeployRole",
    }  # fmt: skip
    spec = buildspec_of(root, "DeployStaging")
    commands = spec["phases"]["build"]["commands"]
    assert (
        'python deploy.py --env "$DEPLOY_TARGET" --image-tag "$IMAGE_TAG" --role-arn "$DEPLOY_ROLE_ARN" --yes --confirm "$DEPLOY_TARGET"'
        in commands
    )
    assert spec["env"]["exported-variables"] == ["PUBLIC_URL"]


def test_integration_tests_run_against_stagings_url_and_the_canary(cfg):
    root = rendered_root(cfg)
    functional = action(root, "FunctionalTests")
    assert json.loads(functional["Configuration"]["EnvironmentVariables"])[0] == {
        "name": "BASE_URL", "value": "#{StagingStack.PUBLIC_URL}", "type": "PLAINTEXT",
    }  # fmt: skip
    smoke = action(root, "HealthCheck")
    assert smoke["ActionTypeId"]["Provider"] == "Lambda"
    # No UserParameters: the canary checks the endpoints it has itself, so 30 services fit as well as 3.
    assert smoke["Configuration"] == {"FunctionName": "shop-staging-health-canary"}


def test_the_production_plan_is_made_before_the_approval_which_links_to_it_and_executed_after(cfg):
    root = rendered_root(cfg)
    plan, approval = stage(root, "Approval")["Actions"]
    assert plan["Name"] == "PlanProduction" and plan["RunOrder"] < approval["RunOrder"]
    assert release_variables(root, "PlanProduction")["role"] == "ProductionDeployRole"
    commands = buildspec_of(root, "PlanProduction")["phases"]["build"]["commands"]
    assert any("--plan --change-set-name pipeline-release --json plan.json" in c for c in commands)
    assert approval["Configuration"]["ExternalEntityLink"] == "#{ProductionPlan.PLAN_URL}"
    assert "pipeline-release" in approval["Configuration"]["CustomData"]
    commands = buildspec_of(root, "ExecuteProductionChangeSet")["phases"]["build"]["commands"]
    assert any("--execute-change-set pipeline-release --yes --confirm" in c for c in commands)


@pytest.mark.parametrize("minutes", [5, 1440, 86400])
def test_the_approval_timeout_and_topic_follow_the_configuration(make_pipeline_config, minutes):
    root = rendered_root(make_pipeline_config(pipeline={"approval": {"timeout_minutes": minutes}}))
    approval = action(root, "ApproveProduction")
    assert approval["ActionTypeId"] == {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}
    assert approval["TimeoutInMinutes"] == minutes  # the action-level property: Manual's configuration has none
    assert "TimeoutInMinutes" not in approval["Configuration"]
    assert approval["Configuration"]["NotificationArn"] == {"Ref": "NotificationTopic"}


def test_the_topic_carries_the_configured_subscriptions(make_pipeline_config):
    subscriptions = [{"protocol": "email", "endpoint": "a@example.com"}, {"protocol": "https", "endpoint": "https://hooks.example.com/x"}]
    root = rendered_root(make_pipeline_config(pipeline={"notifications": {"subscriptions": subscriptions}}))
    found = [(r["Properties"]["Protocol"], r["Properties"]["Endpoint"]) for r in resources_of_type(root, "AWS::SNS::Subscription").values()]
    assert found == [("email", "a@example.com"), ("https", "https://hooks.example.com/x")]
    assert props(root, "NotificationTopic")["KmsMasterKeyId"] == {"Fn::GetAtt": ["PipelineKey", "Arn"]}


def test_failures_and_pending_approvals_are_notified(cfg):
    rule = props(rendered_root(cfg), "PipelineNotificationRule")
    assert set(rule["EventTypeIds"]) == {"codepipeline-pipeline-pipeline-execution-failed", "codepipeline-pipeline-manual-approval-needed"}
    assert rule["Targets"] == [{"TargetType": "SNS", "TargetAddress": {"Ref": "NotificationTopic"}}]


def test_the_trigger_follows_the_branch_and_every_services_paths(make_pipeline_config):
    cfg = make_pipeline_config(**OTHER_LAYOUT)
    trigger = props(rendered_root(cfg), "Pipeline")["Triggers"][0]
    assert trigger["ProviderType"] == "CodeStarSourceConnection" and trigger["GitConfiguration"]["SourceActionName"] == "Source"
    pushes = trigger["GitConfiguration"]["Push"]
    assert all(p["Branches"] == {"Includes": ["main"]} for p in pushes)
    paths = [path for p in pushes for path in p["FilePaths"]["Includes"]]
    assert all(len(p["FilePaths"]["Includes"]) <= 8 for p in pushes) and len(pushes) <= 3
    assert {f"apps/{n}/**" for n in ("one", "two", "three", "four", "five")} | {"libs/kit/**", "templates/**", "deploy.py"} <= set(paths)


def test_buildspecs_follow_the_other_layout(make_pipeline_config):
    root = rendered_root(make_pipeline_config(**OTHER_LAYOUT))
    projects = resources_of_type(root, "AWS::CodeBuild::Project")
    spec = projects["AppOneBuild"]["Properties"]["Source"]["BuildSpec"]
    assert "apps/one/build/Containerfile" in spec and "python -m pytest apps/one" in spec
    assert len([p for p in projects if p.endswith("Build") and p.startswith("App")]) == 5


def test_repositories_scan_are_immutable_encrypted_expire_and_are_retained(make_pipeline_config):
    cfg = make_pipeline_config(pipeline={"ecr": {"keep_tagged_images": 12, "untagged_expiry_days": 3}})
    template = render(cfg)["ecr.json"]
    repositories = resources_of_type(template, "AWS::ECR::Repository")
    assert [r["Properties"]["RepositoryName"] for r in repositories.values()] == [
        "shop/api-service",
        "shop/auth-service",
        "shop/notification-service",
    ]
    for repository in repositories.values():
        p = repository["Properties"]
        assert p["ImageScanningConfiguration"] == {"ScanOnPush": True} and p["ImageTagMutability"] == "IMMUTABLE"
        assert p["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        assert repository["DeletionPolicy"] == repository["UpdateReplacePolicy"] == "Retain"
        rules = json.loads(p["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert rules[0]["selection"]["tagStatus"] == "untagged" and rules[0]["selection"]["countNumber"] == 3
        assert rules[1]["selection"]["countType"] == "imageCountMoreThan" and rules[1]["selection"]["countNumber"] == 12
    assert not resources_of_type(template, "AWS::ECR::ReplicationConfiguration")


def test_replication_to_a_second_region_when_configured(make_pipeline_config):
    template = render(make_pipeline_config(pipeline={"ecr": {"replication_region": "eu-west-1"}}))["ecr.json"]
    (replication,) = resources_of_type(template, "AWS::ECR::ReplicationConfiguration").values()
    rule = replication["Properties"]["ReplicationConfiguration"]["Rules"][0]
    assert rule["Destinations"][0]["Region"] == "eu-west-1"
    assert rule["RepositoryFilters"] == [{"Filter": "shop/", "FilterType": "PREFIX_MATCH"}]


def test_artifacts_are_encrypted_with_the_pipelines_rotating_key(cfg):
    root = rendered_root(cfg)
    store = props(root, "Pipeline")["ArtifactStore"]
    assert store["Location"] == {"Ref": "ArtifactBucket"}
    assert store["EncryptionKey"] == {"Id": {"Fn::GetAtt": ["PipelineKey", "Arn"]}, "Type": "KMS"}
    assert props(root, "PipelineKey")["EnableKeyRotation"] is True
    sids = {s.get("Sid") for s in props(root, "PipelineKey")["KeyPolicy"]["Statement"]}
    assert "NotificationPublishersEncrypt" in sids


def test_a_build_role_pushes_only_its_own_repository(cfg):
    root = rendered_root(cfg)
    push = next(s for s in statements(root, "ApiServiceBuildRole") if s.get("Sid") == "PushThisServicesImages")
    assert push["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/shop/api-service"}]
    assert "ecr:PutImage" in push["Action"]
    logs = statements(root, "ApiServiceBuildRole")[0]
    assert logs["Resource"][0]["Fn::Sub"][1] == {"Name": {"Ref": "ApiServiceBuildLogs"}}


def test_each_release_role_passes_only_its_own_deploy_role_to_cloudformation(cfg):
    root = rendered_root(cfg)
    for release, deploy, stack in (
        ("StagingReleaseRole", "StagingDeployRole", "shop-staging"),
        ("ProductionReleaseRole", "ProductionDeployRole", "shop-production"),
    ):
        found = {s.get("Sid"): s for s in statements(root, release)}
        assert found["PassThisEnvironmentsDeployRole"]["Resource"] == [{"Fn::GetAtt": [deploy, "Arn"]}]
        assert found["PassThisEnvironmentsDeployRole"]["Condition"] == {
            "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
        }
        assert [r["Fn::Sub"] for r in found["DeployThisEnvironment"]["Resource"]] == [
            f"arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{stack}/*",
            f"arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{stack}-*/*",
        ]
    pipeline_actions = {a for s in statements(root, "PipelineRole") for a in s["Action"]}
    assert not any(a.startswith(("cloudformation:", "iam:")) for a in pipeline_actions)


def on_the_assets_bucket(resource) -> str | None:
    """The ARN pattern of an assets-bucket resource (``Sub`` on the AssetsBucket parameter), else None."""
    sub = resource.get("Fn::Sub") if isinstance(resource, dict) else None
    if isinstance(sub, list) and sub[1] == {"Bucket": {"Ref": names.ASSETS_BUCKET}}:
        return sub[0]
    return None


def test_each_release_role_writes_the_assets_bucket_only_under_its_own_prefixes(cfg):
    """The bucket is the account's, shared by its targets: a staging build must not put an object under a key production deploys."""
    root = rendered_root(cfg)
    bucket = "arn:${AWS::Partition}:s3:::${Bucket}"
    for release, target in (("StagingReleaseRole", "staging"), ("ProductionReleaseRole", "production")):
        granted: dict[str, set[str]] = {}
        for statement in statements(root, release):
            for resource in statement["Resource"]:
                pattern = on_the_assets_bucket(resource)
                if pattern is not None:
                    granted.setdefault(pattern, set()).update(a for a in statement["Action"] if a.startswith("s3:"))
        assert granted == {
            bucket: {"s3:ListBucket"},  # HeadBucket, and a 404 for a missing key: no object is read or written
            f"{bucket}/targets/{target}/*": {"s3:GetObject", "s3:PutObject"},
            f"{bucket}/deploys/{target}/*": {"s3:PutObject"},
        }, release


def test_each_deploy_role_is_scoped_to_its_environments_prefix(cfg):
    root = rendered_root(cfg)
    for role, prefix, other in (
        ("StagingDeployRole", "shop-staging", "shop-production"),
        ("ProductionDeployRole", "shop-production", "shop-staging"),
    ):
        found = deploy_role_statements(root, role)
        text = json.dumps(found)
        assert prefix in text and other not in text
        roles = next(s for s in found if s.get("Sid") == "EnvironmentRoles")
        assert roles["Resource"] == [{"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{prefix}-*"}]


def deploy_role_policies(root: dict, role: str) -> list[str]:
    """The managed policies attached to ``role`` (from their side: Roles)."""
    return [t for t in resources_of_type(root, "AWS::IAM::ManagedPolicy") if {"Ref": role} in props(root, t).get("Roles", [])]


def deploy_role_statements(root: dict, role: str) -> list[dict]:
    """Every statement of the managed policies attached to ``role``."""
    return [s for title in deploy_role_policies(root, role) for s in props(root, title)["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize(
    "source, provider",
    [
        ({"provider": "codecommit", "repository": "shop", "connection_arn": ""}, "CodeCommit"),
        ({"provider": "s3", "repository": "shop-sources", "object_key": "shop.zip", "connection_arn": ""}, "S3"),
    ],
)
def test_other_sources_start_the_pipeline_through_eventbridge_and_lint_clean(make_pipeline_config, tmp_path, source, provider):
    cfg = make_pipeline_config(pipeline={"source": source})
    rendered = render(cfg)
    root = rendered[names.ROOT_TEMPLATE]
    assert action(root, "Source")["ActionTypeId"]["Provider"] == provider
    assert "Triggers" not in props(root, "Pipeline")
    assert props(root, "SourceChangeRule")["Targets"][0]["Arn"] == {
        "Fn::Sub": ["arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Pipeline}", {"Pipeline": {"Ref": "Pipeline"}}]
    }
    for name, template in rendered.items():
        path = tmp_path / name
        path.write_text(to_json(template))
    assert [str(f) for name, t in rendered.items() for f in lint_template(tmp_path / name, t)] == []


def test_an_s3_source_tags_images_with_its_etag(make_pipeline_config):
    cfg = make_pipeline_config(
        pipeline={"source": {"provider": "s3", "repository": "shop-sources", "object_key": "shop.zip", "connection_arn": ""}}
    )
    assert commit_variable(cfg) == "#{SourceVariables.ETag}"


def test_the_retained_repositories_can_be_used_instead_of_created_when_the_stack_is_created_again(cfg):
    rendered = render(cfg)
    root, repositories = rendered[names.ROOT_TEMPLATE], rendered["ecr.json"]
    assert root["Parameters"]["CreateRepositories"] == {
        "Type": "String", "AllowedValues": ["true", "false"], "Default": "true",
        "Description": root["Parameters"]["CreateRepositories"]["Description"],
    }  # fmt: skip
    assert props(root, "EcrStack")["Parameters"] == {"CreateRepositories": {"Ref": "CreateRepositories"}}
    assert repositories["Conditions"] == {"CreatingRepositories": {"Fn::Equals": [{"Ref": "CreateRepositories"}, "true"]}}
    for title in resources_of_type(repositories, "AWS::ECR::Repository"):
        assert repositories["Resources"][title]["Condition"] == "CreatingRepositories"
    # The outputs do not depend on the repositories being created here: the ARNs are built from the fixed names.
    arn = repositories["Outputs"]["ApiServiceRepositoryArn"]["Value"]
    assert arn == {"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/shop/api-service"}
