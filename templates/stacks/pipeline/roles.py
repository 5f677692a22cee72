"""The pipeline's roles: the builds', the release roles that run deploy.py, each environment's deploy role and
permissions boundary (derived from the environment's rendered templates), and the pipeline's own."""

from __future__ import annotations

from awacs.aws import Condition, StringEquals
from troposphere import GetAtt, Parameter, Ref, Sub, Template, iam, logs

from templates import names
from templates.config.model import Service, camel_case
from templates.config.pipeline import PipelineConfig
from templates.iam import deploy_roles, policies
from templates.stacks import ecr, health_check
from templates.stacks.common import skip_checks
from templates.stacks.pipeline.common import EnvironmentRef, regional_arn


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
            AssumeRolePolicyDocument=policies.trust("codebuild"),
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


def assets_objects(assets_bucket, prefix: str) -> Sub:
    """The assets bucket's objects under one prefix (``names.packages_prefix``, ``names.records_prefix``)."""
    return Sub(f"arn:${{AWS::Partition}}:s3:::${{Bucket}}/{prefix}/*", Bucket=Ref(assets_bucket))


def release_statements(config: PipelineConfig, environment: str, deploy_role: iam.Role, assets_bucket: Parameter) -> list:
    """What deploy.py calls when it deploys, plans or executes one environment with its CloudFormation role.

    CloudFormation on this environment's stacks only (change sets, their nested change sets, stack policies,
    termination protection, events, and deleting a stack that holds nothing to keep: the ROLLBACK_COMPLETE stack
    of a failed first create, the empty REVIEW_IN_PROGRESS stack of a discarded plan, as deploy.py does), the
    bootstrap stack's output, the assets bucket (its packages and its deploy records, each under this
    environment's own prefix: a staging build cannot put an object under a key production deploys), image
    look-ups, and passing this environment's deploy role to CloudFormation only.
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
                    "GetTemplateSummary SetStackPolicy GetStackPolicy UpdateTerminationProtection TagResource DeleteStack"
                ).split()
            ],
            [regional_arn("cloudformation", f"stack/{stack}/*"), regional_arn("cloudformation", f"stack/{stack}-*/*")],
            sid="DeployThisEnvironment",
        ),
        policies.allow(
            ["cloudformation:DescribeStacks", "cloudformation:DescribeStackResource"],
            [regional_arn("cloudformation", f"stack/{bootstrap}/*")],
            sid="FindTheAssetsBucket",
        ),
        # HeadBucket is authorised as s3:ListBucket, which names the bucket, not a prefix; it also turns a HEAD of a
        # missing key into 404 rather than 403 (S3 API Reference, HeadObject).
        policies.allow(["s3:ListBucket"], [bucket], sid="ListAssets"),
        policies.allow(
            ["s3:GetObject", "s3:PutObject"], [assets_objects(assets_bucket, names.packages_prefix(environment))], sid="UploadOwnPackages"
        ),
        policies.allow(["s3:PutObject"], [assets_objects(assets_bucket, names.records_prefix(environment))], sid="RecordOwnDeploys"),
        policies.allow(["ecr:DescribeImages"], [ecr.repository_arn(config, s) for s in config.project.services], sid="CheckImages"),
        policies.allow(
            ["iam:PassRole"],
            [GetAtt(deploy_role, "Arn")],
            sid="PassThisEnvironmentsDeployRole",
            condition=Condition(StringEquals({"iam:PassedToService": "cloudformation.amazonaws.com"})),
        ),
    ]


def add_boundaries(template: Template, environments: list[deploy_roles.Environment]) -> dict[str, iam.ManagedPolicy]:
    """One permissions boundary per environment target: every role the environment creates must carry it."""
    boundaries = {}
    for env in environments:
        [statements] = deploy_roles.pack(deploy_roles.boundary_statements(env))
        boundaries[env.target] = template.add_resource(
            iam.ManagedPolicy(
                f"{camel_case(env.target)}Boundary",
                ManagedPolicyName=deploy_roles.boundary_name(env.project, env.target),
                Description=f"caps every role of {env.prefix}: the actions its roles use, on its own resources",
                PolicyDocument=policies.document(*statements),
            )
        )
    return boundaries


def add_deploy_role(template: Template, config: PipelineConfig, env: deploy_roles.Environment, assets_bucket: Parameter) -> iam.Role:
    """CloudFormation's service role for one environment: its handlers' permissions, on its resources only."""
    environment = env.target
    documents = deploy_roles.pack(deploy_roles.deploy_statements(env, Ref(assets_bucket)))
    if len(documents) > deploy_roles.MANAGED_POLICIES_PER_ROLE:
        raise ValueError(
            f"{environment}: the deploy role needs {len(documents)} managed policies; IAM attaches at most "
            f"{deploy_roles.MANAGED_POLICIES_PER_ROLE} to a role"
        )
    title = camel_case(environment)
    role = template.add_resource(iam.Role(f"{title}DeployRole", AssumeRolePolicyDocument=policies.trust("cloudformation")))
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
            AssumeRolePolicyDocument=policies.trust("codepipeline"),
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
