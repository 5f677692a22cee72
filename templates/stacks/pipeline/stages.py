"""The pipeline itself: its stages and actions, its trigger, the rules that start it and report on it."""

from __future__ import annotations

import json

from troposphere import GetAtt, Ref, Sub, Template, codepipeline, events, iam
from troposphere import codestarnotifications as notifications_rules

from templates.config.pipeline import PipelineConfig, path_filters
from templates.iam import policies
from templates.stacks.common import tags
from templates.stacks.pipeline import buildspec
from templates.stacks.pipeline.common import (
    CHANGE_SET_NAME,
    NOTIFIED_EVENTS,
    PLAN_ARTIFACT,
    PLAN_NAMESPACE,
    SOURCE_ACTION,
    SOURCE_ARTIFACT,
    SOURCE_NAMESPACE,
    STAGING_NAMESPACE,
    regional_arn,
    resource_name,
)
from templates.stacks.pipeline.roles import canary_function, connection_arn


def action_type(category: str, provider: str, owner: str = "AWS") -> codepipeline.ActionTypeId:
    return codepipeline.ActionTypeId(Category=category, Owner=owner, Provider=provider, Version="1")


def commit_variable(config: PipelineConfig) -> str:
    """The source action's variable that names the commit (an S3 source has no commit: its ETag)."""
    variable = "ETag" if config.pipeline.source.provider == "s3" else "CommitId"
    return f"#{{{SOURCE_NAMESPACE}.{variable}}}"


def environment_variables(**values: str) -> str:
    return json.dumps([{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in values.items()])


def source_action(config: PipelineConfig) -> codepipeline.Actions:
    source = config.pipeline.source
    if source.provider == "codestar":
        provider, configuration = (
            "CodeStarSourceConnection",
            {
                "ConnectionArn": connection_arn(config),
                "FullRepositoryId": source.repository,
                "BranchName": source.branch,
                "OutputArtifactFormat": "CODE_ZIP",
            },
        )
    elif source.provider == "codecommit":
        provider, configuration = (
            "CodeCommit",
            {
                "RepositoryName": source.repository,
                "BranchName": source.branch,
                "PollForSourceChanges": "false",
                "OutputArtifactFormat": "CODE_ZIP",
            },
        )
    else:
        provider, configuration = "S3", {"S3Bucket": source.repository, "S3ObjectKey": source.object_key, "PollForSourceChanges": "false"}
    return codepipeline.Actions(
        Name=SOURCE_ACTION,
        ActionTypeId=action_type("Source", provider),
        Configuration=configuration,
        OutputArtifacts=[codepipeline.OutputArtifacts(Name=SOURCE_ARTIFACT)],
        Namespace=SOURCE_NAMESPACE,
        RunOrder=1,
    )


def build_action(name: str, project, run_order: int, output: str | None = None, **variables: str) -> codepipeline.Actions:
    kwargs = {"OutputArtifacts": [codepipeline.OutputArtifacts(Name=output)]} if output else {}
    configuration = {"ProjectName": Ref(project)}
    if variables:
        configuration["EnvironmentVariables"] = environment_variables(**variables)
    return codepipeline.Actions(
        Name=name,
        ActionTypeId=action_type("Build", "CodeBuild"),
        Configuration=configuration,
        InputArtifacts=[codepipeline.InputArtifacts(Name=SOURCE_ARTIFACT)],
        RunOrder=run_order,
        **kwargs,
    )


def build_stage(config: PipelineConfig, service_projects: dict) -> codepipeline.Stages:
    """Every service in parallel; each pushes the commit's image (or tags the unchanged one with it)."""
    commit = commit_variable(config)
    actions = [build_action(f"Build-{name}", project, 1, IMAGE_TAG=commit) for name, project in service_projects.items()]
    return codepipeline.Stages(Name="Build", Actions=actions)


def deploy_variables(config: PipelineConfig, environment: str) -> dict[str, str]:
    """What deploy.py needs in CodeBuild; the deploy role's ARN is filled in by Fn::Sub (``${DeployRoleArn}``)."""
    return {
        "DEPLOY_TARGET": environment,
        "STACK_NAME": config.environment_stack(environment),
        "DEPLOY_ROLE_ARN": "${DeployRoleArn}",
        "IMAGE_TAG": commit_variable(config),
    }


def release_action(name: str, project, variables: dict, role: iam.Role, run_order: int = 1, **kwargs) -> codepipeline.Actions:
    """A CodeBuild action running deploy.py with this environment's CloudFormation role."""
    return codepipeline.Actions(
        Name=name,
        ActionTypeId=action_type("Build", "CodeBuild"),
        Configuration={
            "ProjectName": Ref(project),
            "EnvironmentVariables": Sub(environment_variables(**variables), DeployRoleArn=GetAtt(role, "Arn")),
        },
        InputArtifacts=[codepipeline.InputArtifacts(Name=SOURCE_ARTIFACT)],
        RunOrder=run_order,
        **kwargs,
    )


def deploy_staging_stage(config: PipelineConfig, project, role: iam.Role) -> codepipeline.Stages:
    variables = deploy_variables(config, config.pipeline.staging_target)
    action = release_action("DeployStaging", project, variables, role, Namespace=STAGING_NAMESPACE)
    return codepipeline.Stages(Name="DeployStaging", Actions=[action])


def staging_url() -> str:
    return f"#{{{STAGING_NAMESPACE}.{buildspec.PUBLIC_URL_VARIABLE}}}"


def integration_stage(config: PipelineConfig, test_project) -> codepipeline.Stages:
    """The functional tests against staging's URL, and the staging canary as a Lambda invoke action.

    The canary has every service's endpoint already (its own configuration, rendered with staging), so the
    action passes no UserParameters: CodePipeline's 1,000-character limit no longer bounds the services.
    """
    functional = build_action("FunctionalTests", test_project, 1, BASE_URL=staging_url())
    smoke = codepipeline.Actions(
        Name="HealthCheck",
        ActionTypeId=action_type("Invoke", "Lambda"),
        Configuration={"FunctionName": canary_function(config)},
        RunOrder=1,
    )
    return codepipeline.Stages(Name="IntegrationTest", Actions=[functional, smoke])


def approval_stage(config: PipelineConfig, plan_project, role: iam.Role, topic) -> codepipeline.Stages:
    """The production change set first (with its nested change sets), so the approver reviews exactly what will change."""
    environment = config.pipeline.production_target
    stack = config.environment_stack(environment)
    plan = release_action(
        "PlanProduction",
        plan_project,
        deploy_variables(config, environment),
        role,
        Namespace=PLAN_NAMESPACE,
        OutputArtifacts=[codepipeline.OutputArtifacts(Name=PLAN_ARTIFACT)],
    )
    approval = codepipeline.Actions(
        Name="ApproveProduction",
        ActionTypeId=action_type("Approval", "Manual"),
        Configuration={
            "NotificationArn": Ref(topic),
            "CustomData": f"Change set {CHANGE_SET_NAME} of {stack} (commit {commit_variable(config)}): the link opens the plan's "
            "table, per nested stack, of replacements and changed properties. Approve to execute exactly that change set.",
            "ExternalEntityLink": f"#{{{PLAN_NAMESPACE}.{buildspec.PLAN_URL_VARIABLE}}}",
        },
        TimeoutInMinutes=config.pipeline.approval.timeout_minutes,
        RunOrder=2,
    )
    return codepipeline.Stages(Name="Approval", Actions=[plan, approval])


def deploy_production_stage(config: PipelineConfig, project, role: iam.Role) -> codepipeline.Stages:
    variables = deploy_variables(config, config.pipeline.production_target)
    action = release_action("ExecuteProductionChangeSet", project, variables, role)
    return codepipeline.Stages(Name="DeployProduction", Actions=[action])


def triggers(config: PipelineConfig) -> list[codepipeline.PipelineTriggerDeclaration]:
    """A push to the branch that touches a service's build inputs or the infrastructure (CodeStar sources only)."""
    if config.pipeline.source.provider != "codestar":
        return []
    branch = codepipeline.GitBranchFilterCriteria(Includes=[config.pipeline.source.branch])
    pushes = [
        codepipeline.GitPushFilter(Branches=branch, FilePaths=codepipeline.GitFilePathFilterCriteria(Includes=list(paths)))
        for paths in path_filters(config)
    ]
    return [
        codepipeline.PipelineTriggerDeclaration(
            ProviderType="CodeStarSourceConnection",
            GitConfiguration=codepipeline.GitConfiguration(SourceActionName=SOURCE_ACTION, Push=pushes),
        )
    ]


def add_pipeline(template: Template, config: PipelineConfig, role, bucket, key, stages: list) -> codepipeline.Pipeline:
    kwargs = {"Triggers": found} if (found := triggers(config)) else {}
    return template.add_resource(
        codepipeline.Pipeline(
            "Pipeline",
            Name=config.stack_prefix,
            PipelineType="V2",
            ExecutionMode=config.pipeline.execution_mode,
            RoleArn=GetAtt(role, "Arn"),
            ArtifactStore=codepipeline.ArtifactStore(
                Type="S3", Location=Ref(bucket), EncryptionKey=codepipeline.EncryptionKey(Id=GetAtt(key, "Arn"), Type="KMS")
            ),
            Stages=stages,
            Tags=tags(config),
            **kwargs,
        )
    )


def pipeline_arn(pipeline: codepipeline.Pipeline) -> Sub:
    return Sub("arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Pipeline}", Pipeline=Ref(pipeline))


def add_source_rule(template: Template, config: PipelineConfig, pipeline) -> events.Rule | None:
    """CodeCommit and S3 sources start the pipeline through EventBridge (no polling); CodeStar uses the trigger."""
    source = config.pipeline.source
    if source.provider == "codestar":
        return None
    if source.provider == "codecommit":
        pattern = {
            "source": ["aws.codecommit"],
            "detail-type": ["CodeCommit Repository State Change"],
            "resources": [regional_arn("codecommit", source.repository)],
            "detail": {"event": ["referenceCreated", "referenceUpdated"], "referenceType": ["branch"], "referenceName": [source.branch]},
        }
    else:  # needs EventBridge notifications turned on for the source bucket
        pattern = {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [source.repository]}, "object": {"key": [source.object_key]}},
        }
    role = template.add_resource(
        iam.Role(
            "SourceEventRole",
            AssumeRolePolicyDocument=policies.trust("events"),
            Policies=[
                iam.Policy(
                    PolicyName="start-pipeline",
                    PolicyDocument=policies.document(policies.allow(["codepipeline:StartPipelineExecution"], [pipeline_arn(pipeline)])),
                )
            ],
        )
    )
    return template.add_resource(
        events.Rule(
            "SourceChangeRule",
            Description=f"{config.stack_prefix}: start the pipeline on a change to its source",
            EventPattern=pattern,
            State="ENABLED",
            Targets=[events.Target(Id="Pipeline", Arn=pipeline_arn(pipeline), RoleArn=GetAtt(role, "Arn"))],
        )
    )


def add_notification_rule(template: Template, config: PipelineConfig, pipeline, topic) -> notifications_rules.NotificationRule:
    return template.add_resource(
        notifications_rules.NotificationRule(
            "PipelineNotificationRule",
            Name=resource_name(config, "events"),
            DetailType="FULL",
            EventTypeIds=list(NOTIFIED_EVENTS),
            Resource=pipeline_arn(pipeline),
            Targets=[notifications_rules.Target(TargetType="SNS", TargetAddress=Ref(topic))],
            Status="ENABLED",
        )
    )
