"""The root stack of the ``pipeline`` target: from a commit to production.

Holds the artifact bucket and its KMS key, one CodeBuild project per service,
the packaging and integration-test projects, the CloudFormation deploy roles,
the notification topic and rule, and the V2 pipeline itself; the image
repositories live in a nested stack (``ecr.json``) so they are retained and
listed apart.

    Source -> Build (one action per service in parallel, then packaging)
           -> DeployStaging -> IntegrationTest -> Approval (change set first)
           -> DeployProduction (executes that change set)

Nothing is hard-coded about the monorepo: services, their paths, Dockerfiles,
build contexts and tests come from ``project.yaml`` and ``pipeline.yaml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from awacs.aws import Condition, StringEquals
from troposphere import GetAtt, Output, Parameter, Ref, Sub, Template, cloudformation, codebuild, codepipeline, events, iam, kms, logs
from troposphere import codestarnotifications as notifications_rules

from templates import buildspec, deploy_roles, ecr, health_check, keys, names, notifications, policies, root
from templates.common import RETAIN, new_template, secure_bucket, skip_checks, tags
from templates.config import Service
from templates.pipeline_config import PipelineConfig, path_filters

PACKAGED_BY_DEPLOY = root.PACKAGED_BY_DEPLOY

ECR_STACK = "EcrStack"
ECR_STEM = "ecr"

SOURCE_ARTIFACT = "Source"
SOURCE_NAMESPACE = "SourceVariables"
SOURCE_ACTION = "Source"
STAGING_NAMESPACE = "StagingStack"
PLAN_NAMESPACE = "ProductionPlan"
PLAN_ARTIFACT = "ProductionPlan"
CHANGE_SET_NAME = "pipeline-release"

STAGES = ("Source", "Build", "DeployStaging", "IntegrationTest", "Approval", "DeployProduction")
NOTIFIED_EVENTS = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
)


@dataclass(frozen=True)
class EnvironmentRef:
    """An environment target as the pipeline sees it: its stack name is its resource prefix."""

    stack_prefix: str


def regional_arn(service: str, resource: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def resource_name(config: PipelineConfig, what: str) -> str:
    return f"{config.stack_prefix}-{what}"


def service_title(service: Service) -> str:
    return service.logical_name


# --- key, bucket, topic, logs -------------------------------------------------------


def add_key(template: Template, config: PipelineConfig) -> kms.Key:
    """Encrypts the artifacts, the build logs and the notification topic."""
    statements = list(keys.key_policy().Statement)
    statements += [s for s in notifications.key_statements() if s.Sid not in {t.Sid for t in statements}]
    key = template.add_resource(
        kms.Key(
            "PipelineKey",
            Description=Sub(f"{config.stack_prefix} artifacts, build logs and notifications (${{AWS::StackName}})"),
            EnableKeyRotation=True,
            KeyPolicy=policies.document(*statements),
            DeletionPolicy=RETAIN,
            UpdateReplacePolicy=RETAIN,
            Tags=tags(config),
        )
    )
    template.add_resource(kms.Alias("PipelineKeyAlias", AliasName=f"alias/{config.stack_prefix}", TargetKeyId=GetAtt(key, "Arn")))
    return key


def add_log_group(template: Template, config: PipelineConfig, title: str, name: str, key: kms.Key) -> logs.LogGroup:
    """A build's log group: the pipeline's retention, its key, retained when the pipeline is protected."""
    settings = config.pipeline
    retention = RETAIN if settings.protected else "Delete"
    kwargs = {"KmsKeyId": GetAtt(key, "Arn")} if settings.logs.kms_encrypted else {}
    group = template.add_resource(
        logs.LogGroup(
            title,
            LogGroupName=name,
            RetentionInDays=settings.logs.retention_days,
            DeletionPolicy=retention,
            UpdateReplacePolicy=retention,
            **kwargs,
        )
    )
    if not settings.logs.kms_encrypted:
        skip_checks(group, {"CKV_AWS_158": "the pipeline's logs.kms_encrypted is false; CloudWatch Logs still encrypts at rest"})
    return group


def add_topic(template: Template, config: PipelineConfig, key: kms.Key):
    return notifications.add_topic(
        template,
        "NotificationTopic",
        resource_name(config, "notifications"),
        config.pipeline.notifications.subscriptions,
        GetAtt(key, "Arn"),
    )


# --- roles ------------------------------------------------------------------------------


def artifact_statements(bucket, key, write: bool = False) -> list:
    objects = Sub("${Arn}/*", Arn=GetAtt(bucket, "Arn"))
    actions = ["s3:GetObject", "s3:GetObjectVersion"] + (["s3:PutObject"] if write else [])
    return [
        policies.allow(actions, [objects], sid="Artifacts"),
        policies.allow(["s3:GetBucketAcl", "s3:GetBucketLocation"], [GetAtt(bucket, "Arn")], sid="ArtifactBucket"),
        policies.allow(["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [GetAtt(key, "Arn")], sid="ArtifactKey"),
    ]


def add_build_role(template: Template, title: str, group: logs.LogGroup, bucket, key, statements: list, write: bool = False) -> iam.Role:
    base = [policies.write_logs(Ref(group)), *artifact_statements(bucket, key, write)]
    return template.add_resource(
        iam.Role(
            title,
            AssumeRolePolicyDocument=policies.trust("codebuild.amazonaws.com"),
            Policies=[iam.Policy(PolicyName="build", PolicyDocument=policies.document(*base, *statements))],
        )
    )


def push_statements(config: PipelineConfig, service: Service) -> list:
    """Log in to the registry; read, tag and push this service's repository only."""
    return [
        policies.wildcard_statement(["ecr:GetAuthorizationToken"], sid="RegistryLogin"),
        policies.allow(
            [
                "ecr:DescribeRepositories",
                "ecr:DescribeImages",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
            ],
            [ecr.repository_arn(config, service)],
            sid="PushThisServicesImages",
        ),
    ]


def release_statements(config: PipelineConfig, environment: str, deploy_role: iam.Role, assets_bucket: Parameter) -> list:
    """What deploy.py calls when it deploys, plans or executes one environment with its CloudFormation role.

    CloudFormation on this environment's stacks only (change sets, their nested change sets, stack policies,
    termination protection, events), the bootstrap stack's output, the assets bucket (packages, deploy record),
    image look-ups, and passing this environment's deploy role to CloudFormation only.
    """
    stack = config.environment_stack(environment)
    bootstrap = f"{config.project.name}-bootstrap"
    bucket = Sub("arn:${AWS::Partition}:s3:::${Bucket}", Bucket=Ref(assets_bucket))
    return [
        policies.allow(
            [
                f"cloudformation:{verb}"
                for verb in (
                    "CreateChangeSet DescribeChangeSet ExecuteChangeSet DeleteChangeSet ListChangeSets DescribeStacks "
                    "DescribeStackEvents DescribeStackResource DescribeStackResources ListStackResources GetTemplate "
                    "GetTemplateSummary SetStackPolicy GetStackPolicy UpdateTerminationProtection TagResource"
                ).split()
            ],
            [regional_arn("cloudformation", f"stack/{stack}/*"), regional_arn("cloudformation", f"stack/{stack}-*/*")],
            sid="DeployThisEnvironment",
        ),
        policies.wildcard_statement(["cloudformation:ValidateTemplate"], sid="ValidateTemplates"),
        policies.allow(
            ["cloudformation:DescribeStacks", "cloudformation:DescribeStackResource"],
            [regional_arn("cloudformation", f"stack/{bootstrap}/*")],
            sid="FindTheAssetsBucket",
        ),
        policies.allow(["s3:ListBucket"], [bucket], sid="ListAssets"),
        policies.allow(
            ["s3:GetObject", "s3:PutObject"], [Sub("arn:${AWS::Partition}:s3:::${Bucket}/*", Bucket=Ref(assets_bucket))], sid="UploadAssets"
        ),
        policies.allow(["ecr:DescribeImages"], [ecr.repository_arn(config, s) for s in config.project.services], sid="CheckImages"),
        policies.allow(
            ["iam:PassRole"],
            [GetAtt(deploy_role, "Arn")],
            sid="PassThisEnvironmentsDeployRole",
            condition=Condition(StringEquals({"iam:PassedToService": "cloudformation.amazonaws.com"})),
        ),
    ]


def rendered_environment(config: PipelineConfig, target: str) -> deploy_roles.Environment:
    """An environment's templates as its deploy role sees them: rendered from its own configuration."""
    from templates import targets  # here: targets imports this module

    return deploy_roles.Environment(config.project.name, target, targets.render_environment(config.environment(target)))


def title_of(target: str) -> str:
    return "".join(part.capitalize() for part in target.split("-"))


def add_boundaries(template: Template, config: PipelineConfig) -> dict[str, iam.ManagedPolicy]:
    """One permissions boundary per environment target: every role the environment creates must carry it."""
    boundaries = {}
    for env_config in config.environments:
        env = rendered_environment(config, env_config.target)
        [statements] = deploy_roles.pack(deploy_roles.boundary_statements(env))
        boundaries[env.target] = template.add_resource(
            iam.ManagedPolicy(
                f"{title_of(env.target)}Boundary",
                ManagedPolicyName=deploy_roles.boundary_name(config.project.name, env.target),
                Description=f"caps every role of {env.prefix}: the actions its roles use, on its own resources",
                PolicyDocument=policies.document(*statements),
            )
        )
    return boundaries


def add_deploy_role(template: Template, config: PipelineConfig, environment: str, assets_bucket: Parameter) -> iam.Role:
    """CloudFormation's service role for one environment: its handlers' permissions, on its resources only."""
    env = rendered_environment(config, environment)
    documents = deploy_roles.pack(deploy_roles.deploy_statements(env, Ref(assets_bucket)))
    if len(documents) > deploy_roles.MANAGED_POLICIES_PER_ROLE:
        raise ValueError(
            f"{environment}: the deploy role needs {len(documents)} managed policies; IAM attaches at most "
            f"{deploy_roles.MANAGED_POLICIES_PER_ROLE} to a role"
        )
    title = title_of(environment)
    role = template.add_resource(iam.Role(f"{title}DeployRole", AssumeRolePolicyDocument=policies.trust("cloudformation.amazonaws.com")))
    # Attached from the policies' side (Roles), so a reader of the role's policies finds them by the role's name.
    managed = [
        template.add_resource(
            iam.ManagedPolicy(
                f"{title}DeployPolicy{index}",
                Description=f"deploy {env.prefix} ({index} of {len(documents)}), derived from its templates",
                PolicyDocument=policies.document(*statements),
                Roles=[Ref(role)],
            )
        )
        for index, statements in enumerate(documents, 1)
    ]
    for policy in managed:
        skip_checks(
            policy,
            {
                "CKV_AWS_109": "CloudFormation writes the environment's key, bucket and role policies: on resources named after "
                f"the environment or tagged Target={environment}, roles only with its permissions boundary",
                "CKV_AWS_111": "CloudFormation writes every resource of the environment: on resources named after it or tagged "
                f"Target={environment}, service-linked roles by iam:AWSServiceName, and the few actions AWS offers on no resource "
                "(policies.WILDCARD_RESOURCE_ACTIONS)",
            },
        )
    return role


def add_pipeline_role(template: Template, config: PipelineConfig, bucket, key, projects: list, topic) -> iam.Role:
    """Run the builds (which deploy), invoke the staging canary, ask for the approval, read the source."""
    statements = [
        *artifact_statements(bucket, key, write=True),
        policies.allow(["codebuild:StartBuild", "codebuild:BatchGetBuilds"], [GetAtt(p, "Arn") for p in projects], sid="RunBuilds"),
        policies.allow(
            ["lambda:InvokeFunction"],
            [regional_arn("lambda", f"function:{canary_function(config)}")],
            sid="SmokeTestStaging",
        ),
        policies.allow(["sns:Publish"], [Ref(topic)], sid="AskForApproval"),
        *source_statements(config),
    ]
    return template.add_resource(
        iam.Role(
            "PipelineRole",
            AssumeRolePolicyDocument=policies.trust("codepipeline.amazonaws.com"),
            Policies=[iam.Policy(PolicyName="pipeline", PolicyDocument=policies.document(*statements))],
        )
    )


def connection_arn(config: PipelineConfig) -> Sub:
    source = config.pipeline.source
    return regional_arn(source.connection_service, f"connection/{source.connection_id}")


def source_statements(config: PipelineConfig) -> list:
    source = config.pipeline.source
    if source.provider == "codestar":
        return [policies.allow([f"{source.connection_service}:UseConnection"], [connection_arn(config)], sid="UseConnection")]
    if source.provider == "codecommit":
        return [
            policies.allow(
                [
                    "codecommit:GetBranch",
                    "codecommit:GetCommit",
                    "codecommit:UploadArchive",
                    "codecommit:GetUploadArchiveStatus",
                    "codecommit:CancelUploadArchive",
                ],
                [regional_arn("codecommit", source.repository)],
                sid="ReadRepository",
            )
        ]
    return [
        policies.allow(
            ["s3:GetObject", "s3:GetObjectVersion"],
            [Sub(f"arn:${{AWS::Partition}}:s3:::{source.repository}/{source.object_key}")],
            sid="ReadSource",
        ),
        policies.allow(["s3:GetBucketVersioning"], [Sub(f"arn:${{AWS::Partition}}:s3:::{source.repository}")], sid="SourceBucket"),
    ]


def canary_function(config: PipelineConfig) -> str:
    return health_check.function_name(EnvironmentRef(config.environment_stack(config.pipeline.staging_target)), "canary")


# --- CodeBuild ----------------------------------------------------------------------------


def add_project(
    template: Template,
    config: PipelineConfig,
    title: str,
    what: str,
    spec: dict,
    role: iam.Role,
    group: logs.LogGroup,
    key: kms.Key,
    privileged: bool = False,
) -> codebuild.Project:
    settings = config.pipeline.build
    project = template.add_resource(
        codebuild.Project(
            title,
            Name=resource_name(config, what),
            Description=f"{config.stack_prefix}: {what}",
            Source=codebuild.Source(Type="CODEPIPELINE", BuildSpec=buildspec.to_yaml(spec)),
            Artifacts=codebuild.Artifacts(Type="CODEPIPELINE"),
            Environment=codebuild.Environment(
                Type="LINUX_CONTAINER", ComputeType=settings.compute_type, Image=settings.image, PrivilegedMode=privileged
            ),
            ServiceRole=GetAtt(role, "Arn"),
            EncryptionKey=GetAtt(key, "Arn"),
            TimeoutInMinutes=settings.timeout_minutes,
            LogsConfig=codebuild.LogsConfig(CloudWatchLogs=codebuild.CloudWatchLogs(Status="ENABLED", GroupName=Ref(group))),
            Tags=tags(config),
        )
    )
    if privileged:
        skip_checks(
            project, {"CKV_AWS_316": "docker build needs the privileged Docker daemon; the project runs only this repository's buildspec"}
        )
    return project


def build_project(
    template: Template, config: PipelineConfig, title: str, what: str, spec: dict, bucket, key, statements: list, **kwargs
) -> codebuild.Project:
    group = add_log_group(template, config, f"{title}Logs", f"/aws/codebuild/{resource_name(config, what)}", key)
    role = add_build_role(template, f"{title}Role", group, bucket, key, statements, write=kwargs.pop("write", False))
    return add_project(template, config, title, what, spec, role, group, key, **kwargs)


def add_service_builds(template: Template, config: PipelineConfig, bucket, key, ecr_stack) -> dict[str, codebuild.Project]:
    projects = {}
    for service in config.project.services:
        spec = buildspec.service(config, service, names.ecr_repository_name(config.project.name, service.name))
        project = build_project(
            template, config, f"{service_title(service)}Build", f"build-{service.name}", spec, bucket, key,
            push_statements(config, service), privileged=True,
        )  # fmt: skip
        project.DependsOn = [ecr_stack.title]
        projects[service.name] = project
    return projects


def add_release_role(template: Template, config: PipelineConfig, environment: str, deploy_role, assets_bucket, bucket, key) -> dict:
    """The CodeBuild role that runs deploy.py for one environment (its log group and role, shared by its projects)."""
    what = f"release-{environment}"
    title = f"{title_of(environment)}Release"
    group = add_log_group(template, config, f"{title}Logs", f"/aws/codebuild/{resource_name(config, what)}", key)
    statements = release_statements(config, environment, deploy_role, assets_bucket)
    role = add_build_role(template, f"{title}Role", group, bucket, key, statements, write=True)
    return {"role": role, "group": group}


def release_project(template: Template, config: PipelineConfig, environment: str, mode: str, release: dict, bucket, key):
    what = f"{mode}-{environment}"
    spec = buildspec.deploy(config, mode, CHANGE_SET_NAME)
    title = f"{mode.capitalize()}{title_of(environment)}Build"
    return add_project(template, config, title, what, spec, release["role"], release["group"], key)


# --- the pipeline ---------------------------------------------------------------------------


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
            AssumeRolePolicyDocument=policies.trust("events.amazonaws.com"),
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


# --- the root template ---------------------------------------------------------------------


def build_children(config: PipelineConfig) -> dict[str, Template]:
    """Every nested template of the target, by file stem."""
    return {ECR_STEM: ecr.build(config)}


def add_ecr_stack(template: Template, config: PipelineConfig) -> cloudformation.Stack:
    create = template.add_parameter(
        Parameter(
            ecr.CREATE_REPOSITORIES,
            Type="String",
            AllowedValues=["true", "false"],
            Default="true",
            Description="false when the retained repositories of a deleted pipeline stack exist already: they are used, not created",
        )
    )
    return template.add_resource(
        cloudformation.Stack(
            ECR_STACK,
            TemplateURL=names.template_file(ECR_STEM),
            Parameters={ecr.CREATE_REPOSITORIES: Ref(create)},
            Tags=tags(config),
            Metadata=PACKAGED_BY_DEPLOY,
        )
    )


def build(config: PipelineConfig, built: dict[str, Template] | None = None) -> Template:
    built = built or build_children(config)
    settings = config.pipeline
    template = new_template(f"{config.stack_prefix}: ECR, CodeBuild and CodePipeline from source to production")
    assets_bucket = template.add_parameter(
        Parameter(names.ASSETS_BUCKET, Type="String", Description="the bootstrap stack's bucket deploy.py uploads packages to")
    )
    ecr_stack = add_ecr_stack(template, config)
    key = add_key(template, config)
    bucket = secure_bucket(template, "ArtifactBucket", config, settings.artifacts.expiry_days, kms_key_arn=GetAtt(key, "Arn"))
    topic = add_topic(template, config, key)

    service_projects = add_service_builds(template, config, bucket, key, ecr_stack)
    test_project = build_project(
        template, config, "IntegrationTestBuild", "integration-test", buildspec.integration_test(config), bucket, key, []
    )
    add_boundaries(template, config)
    staging, production = settings.staging_target, settings.production_target
    deploy_roles_ = {env: add_deploy_role(template, config, env, assets_bucket) for env in (staging, production)}
    release = {
        env: add_release_role(template, config, env, deploy_roles_[env], assets_bucket, bucket, key) for env in (staging, production)
    }
    releases = {
        (env, mode): release_project(template, config, env, mode, release[env], bucket, key)
        for env, mode in ((staging, buildspec.DEPLOY), (production, buildspec.PLAN), (production, buildspec.EXECUTE))
    }
    projects = [*service_projects.values(), test_project, *releases.values()]
    role = add_pipeline_role(template, config, bucket, key, projects, topic)

    stages = [
        codepipeline.Stages(Name="Source", Actions=[source_action(config)]),
        build_stage(config, service_projects),
        deploy_staging_stage(config, releases[(staging, buildspec.DEPLOY)], deploy_roles_[staging]),
        integration_stage(config, test_project),
        approval_stage(config, releases[(production, buildspec.PLAN)], deploy_roles_[production], topic),
        deploy_production_stage(config, releases[(production, buildspec.EXECUTE)], deploy_roles_[production]),
    ]
    pipeline = add_pipeline(template, config, role, bucket, key, stages)
    add_source_rule(template, config, pipeline)
    add_notification_rule(template, config, pipeline, topic)

    template.add_output(Output("PipelineName", Value=Ref(pipeline)))
    template.add_output(Output("ArtifactBucketName", Value=Ref(bucket)))
    template.add_output(Output("NotificationTopicArn", Value=Ref(topic)))
    for service in config.project.services:
        name = ecr.repository_arn_output(service)
        if name in built[ECR_STEM].outputs:
            template.add_output(Output(name, Description=f"{service.name}'s image repository", Value=GetAtt(ecr_stack, f"Outputs.{name}")))
    return template
