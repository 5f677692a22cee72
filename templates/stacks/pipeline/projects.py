"""The CodeBuild projects: one image build per service, the integration tests, and the release projects."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Template, codebuild, iam, kms, logs

from templates import names
from templates.config.model import Config, camel_case
from templates.config.pipeline import CODEBUILD_MAX_TIMEOUT_MINUTES, PipelineConfig, release_minutes
from templates.stacks.common import skip_checks, tags
from templates.stacks.pipeline import buildspec
from templates.stacks.pipeline.common import CHANGE_SET_NAME, resource_name
from templates.stacks.pipeline.resources import add_log_group
from templates.stacks.pipeline.roles import add_build_role, push_statements, release_statements


def release_timeout_minutes(config: PipelineConfig, environment: Config) -> int:
    """A release step outlives the release: CodeBuild stopping it sooner reports a failure while the stack carries on."""
    return min(CODEBUILD_MAX_TIMEOUT_MINUTES, max(config.pipeline.build.timeout_minutes, release_minutes(environment)))


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
    timeout_minutes: int | None = None,
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
            TimeoutInMinutes=timeout_minutes or settings.timeout_minutes,
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
            template, config, f"{service.logical_name}Build", f"build-{service.name}", spec, bucket, key,
            push_statements(config, service), privileged=True,
        )  # fmt: skip
        project.DependsOn = [ecr_stack.title]
        projects[service.name] = project
    return projects


def add_release_role(template: Template, config: PipelineConfig, environment: str, deploy_role, assets_bucket, bucket, key) -> dict:
    """The CodeBuild role that runs deploy.py for one environment (its log group and role, shared by its projects)."""
    what = f"release-{environment}"
    title = f"{camel_case(environment)}Release"
    group = add_log_group(template, config, f"{title}Logs", f"/aws/codebuild/{resource_name(config, what)}", key)
    statements = release_statements(config, environment, deploy_role, assets_bucket)
    role = add_build_role(template, f"{title}Role", group, bucket, key, statements, write=True)
    return {"role": role, "group": group}


def release_project(template: Template, config: PipelineConfig, environment: str, mode: str, release: dict, bucket, key):
    what = f"{mode}-{environment}"
    spec = buildspec.deploy(config, mode, CHANGE_SET_NAME)
    title = f"{camel_case(mode)}{camel_case(environment)}Build"
    # Planning makes a change set and waits for no deployment; deploying and executing wait for all of them.
    timeout = None if mode == buildspec.PLAN else release_timeout_minutes(config, config.environment(environment))
    return add_project(template, config, title, what, spec, release["role"], release["group"], key, timeout_minutes=timeout)
