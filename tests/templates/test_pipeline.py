"""The pipeline target: stages, parallel builds, approval, triggers, ECR, roles and notifications."""

from __future__ import annotations

import json

import pytest

from builder.lint import lint_template
from templates import names, pipeline, targets
from tests.conftest import make_services
from tests.templates.helpers import props, resources_of_type
from tests.templates.test_buildspec import OTHER_LAYOUT

SMALL = {"build": {"test_commands": []}, "integration_tests": []}


@pytest.fixture
def cfg(make_pipeline_config):
    return make_pipeline_config()


def rendered_root(cfg) -> dict:
    return targets.render(cfg)[names.ROOT_TEMPLATE]


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


def test_every_service_builds_in_parallel_then_each_environment_is_packaged(cfg):
    build = stage(rendered_root(cfg), "Build")["Actions"]
    builds = [a for a in build if a["Name"].startswith("Build-")]
    assert [a["Name"] for a in builds] == ["Build-api-service", "Build-auth-service", "Build-notification-service"]
    assert {a["RunOrder"] for a in builds} == {1}
    packages = [a for a in build if a["Name"].startswith("Package-")]
    assert [(a["Name"], a["RunOrder"]) for a in packages] == [("Package-staging", 2), ("Package-production", 2)]
    assert [a["OutputArtifacts"][0]["Name"] for a in packages] == ["StagingPackage", "ProductionPackage"]
    variables = json.loads(builds[0]["Configuration"]["EnvironmentVariables"])
    assert {"name": "IMAGE_TAG", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"} in variables


def test_thirty_services_still_build_in_one_parallel_group(make_pipeline_config):
    cfg = make_pipeline_config(project={"services": make_services(30)}, pipeline=SMALL)
    builds = [a for a in stage(rendered_root(cfg), "Build")["Actions"] if a["Name"].startswith("Build-")]
    assert len(builds) == 30 and {a["RunOrder"] for a in builds} == {1}


def test_staging_is_updated_with_the_packaged_template_and_the_new_image_tag(cfg):
    root = rendered_root(cfg)
    configuration = action(root, "UpdateStagingStack")["Configuration"]
    assert configuration["ActionMode"] == "CREATE_UPDATE" and configuration["StackName"] == "shop-staging"
    assert configuration["TemplatePath"] == "StagingPackage::root.json"
    assert configuration["TemplateConfiguration"] == "StagingPackage::root.config.json"
    assert json.loads(configuration["ParameterOverrides"]) == {names.IMAGE_TAG: "#{SourceVariables.CommitId}"}
    assert configuration["RoleArn"] == {"Fn::GetAtt": ["StagingDeployRole", "Arn"]}


def test_integration_tests_run_against_stagings_url_and_the_canary(cfg):
    root = rendered_root(cfg)
    functional = action(root, "FunctionalTests")
    assert json.loads(functional["Configuration"]["EnvironmentVariables"])[0] == {
        "name": "BASE_URL", "value": "#{StagingStack.PublicUrl}", "type": "PLAINTEXT",
    }  # fmt: skip
    smoke = action(root, "HealthCheck")
    assert smoke["ActionTypeId"]["Provider"] == "Lambda"
    assert smoke["Configuration"]["FunctionName"] == "shop-staging-health-canary"
    endpoints = json.loads(smoke["Configuration"]["UserParameters"])["endpoints"]
    assert endpoints[0] == {"service": "api-service", "url": "#{StagingStack.PublicUrl}/api/health"}
    assert [e["service"] for e in endpoints] == [s.name for s in cfg.project.services]


def test_the_production_change_set_is_made_before_the_approval_and_executed_after(cfg):
    root = rendered_root(cfg)
    approval_stage = stage(root, "Approval")["Actions"]
    change_set, approval = approval_stage
    assert change_set["Configuration"]["ActionMode"] == "CHANGE_SET_REPLACE" and change_set["RunOrder"] < approval["RunOrder"]
    assert change_set["Configuration"]["StackName"] == "shop-production"
    name = change_set["Configuration"]["ChangeSetName"]
    assert name in approval["Configuration"]["CustomData"]
    execute = action(root, "ExecuteProductionChangeSet")["Configuration"]
    assert execute == {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": "shop-production", "ChangeSetName": name}


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
    template = targets.render(cfg)["ecr.json"]
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
    template = targets.render(make_pipeline_config(pipeline={"ecr": {"replication_region": "eu-west-1"}}))["ecr.json"]
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


def test_the_pipeline_role_passes_only_the_deploy_roles_to_cloudformation(cfg):
    root = rendered_root(cfg)
    passing = next(s for s in statements(root, "PipelineRole") if s.get("Sid") == "PassDeployRoles")
    assert passing["Resource"] == [{"Fn::GetAtt": ["StagingDeployRole", "Arn"]}, {"Fn::GetAtt": ["ProductionDeployRole", "Arn"]}]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    deploying = next(s for s in statements(root, "PipelineRole") if s.get("Sid") == "DeployEnvironments")
    assert [r["Fn::Sub"] for r in deploying["Resource"]] == [
        "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/shop-staging/*",
        "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/shop-production/*",
    ]


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


def deploy_role_statements(root: dict, role: str) -> list[dict]:
    """Every statement of the managed policies attached to ``role``."""
    return [
        s for ref in props(root, role)["ManagedPolicyArns"] for s in props(root, ref["Ref"])["PolicyDocument"]["Statement"]
    ]


@pytest.mark.parametrize(
    "source, provider",
    [
        ({"provider": "codecommit", "repository": "shop", "connection_arn": ""}, "CodeCommit"),
        ({"provider": "s3", "repository": "shop-sources", "object_key": "shop.zip", "connection_arn": ""}, "S3"),
    ],
)
def test_other_sources_start_the_pipeline_through_eventbridge_and_lint_clean(make_pipeline_config, tmp_path, source, provider):
    cfg = make_pipeline_config(pipeline={"source": source})
    rendered = targets.render(cfg)
    root = rendered[names.ROOT_TEMPLATE]
    assert action(root, "Source")["ActionTypeId"]["Provider"] == provider
    assert "Triggers" not in props(root, "Pipeline")
    assert props(root, "SourceChangeRule")["Targets"][0]["Arn"] == {
        "Fn::Sub": ["arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Pipeline}", {"Pipeline": {"Ref": "Pipeline"}}]
    }
    for name, template in rendered.items():
        path = tmp_path / name
        path.write_text(targets.to_json(template))
    assert [str(f) for name, t in rendered.items() for f in lint_template(tmp_path / name, t)] == []


def test_an_s3_source_tags_images_with_its_etag(make_pipeline_config):
    cfg = make_pipeline_config(
        pipeline={"source": {"provider": "s3", "repository": "shop-sources", "object_key": "shop.zip", "connection_arn": ""}}
    )
    assert pipeline.commit_variable(cfg) == "#{SourceVariables.ETag}"
