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

``resources`` (key, log groups, topic), ``roles``, ``projects`` (CodeBuild), ``buildspec`` and ``stages``
(the pipeline itself) each add one section; ``build`` below puts them together.  The environments' deploy
roles are derived from their rendered templates, which ``templates.render`` hands over.
"""

from __future__ import annotations

from collections.abc import Mapping

from troposphere import GetAtt, Output, Parameter, Ref, Template, cloudformation, codepipeline

from templates import names
from templates.config.pipeline import PipelineConfig
from templates.iam import deploy_roles
from templates.stacks import ecr
from templates.stacks.common import PACKAGED_BY_DEPLOY, new_template, secure_bucket, switch, tags
from templates.stacks.pipeline import buildspec
from templates.stacks.pipeline.common import ECR_STACK, ECR_STEM, resource_name
from templates.stacks.pipeline.projects import add_release_role, add_service_builds, build_project, release_project
from templates.stacks.pipeline.resources import add_key, add_topic
from templates.stacks.pipeline.roles import add_boundaries, add_deploy_role, add_pipeline_role
from templates.stacks.pipeline.stages import (
    add_notification_rule,
    add_pipeline,
    add_source_rule,
    approval_stage,
    build_stage,
    deploy_production_stage,
    deploy_staging_stage,
    integration_stage,
    source_action,
)

__all__ = ["build", "build_children", "resource_name"]


def build_children(config: PipelineConfig) -> dict[str, Template]:
    """Every nested template of the target, by file stem."""
    return {ECR_STEM: ecr.build(config)}


def add_ecr_stack(template: Template, config: PipelineConfig) -> cloudformation.Stack:
    create = template.add_parameter(
        switch(
            ecr.CREATE_REPOSITORIES,
            "false when the retained repositories of a deleted pipeline stack exist already: they are used, not created",
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


def build(config: PipelineConfig, environments: Mapping[str, dict[str, dict]], built: dict[str, Template] | None = None) -> Template:
    """The pipeline's root template; ``environments`` holds each environment target's rendered templates, from
    which its deploy role and permissions boundary are derived (``templates.render`` renders them first)."""
    built = built or build_children(config)
    rendered = {target: deploy_roles.Environment(config.project.name, target, environments[target]) for target in sorted(environments)}
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
    add_boundaries(template, [rendered[env.target] for env in config.environments])
    staging, production = settings.staging_target, settings.production_target
    deploy_roles_ = {env: add_deploy_role(template, config, rendered[env], assets_bucket) for env in (staging, production)}
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
