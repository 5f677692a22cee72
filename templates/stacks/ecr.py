"""The pipeline target's image repositories: one per service, shared by every environment.

Build once, promote the same image: staging and production pull the tag the
pipeline pushed.  Each repository scans on push, has immutable tags (a commit
tag always names the same image; a new tag may still be added to an image,
which is how an unchanged service gets the commit's tag), is encrypted with
KMS, expires old images by the configuration and is retained when the stack
is deleted.  Optionally the registry replicates the project's repositories to
a second region for disaster recovery.
"""

from __future__ import annotations

import json

from troposphere import Equals, Output, Ref, Sub, Template, ecr

from templates import names
from templates.config.model import Service
from templates.config.pipeline import PipelineConfig
from templates.stacks.common import RETAIN, new_template, switch, tags

# The repositories are retained with fixed names (every environment's image URIs name them), so a pipeline
# stack created again after a deletion would fail on "already exists": deployed with this parameter "false",
# the stack uses the retained repositories instead of creating them (their ARNs are built from the names).
CREATE_REPOSITORIES = "CreateRepositories"
CREATING = "CreatingRepositories"


def repository_title(service: Service) -> str:
    return f"{service.logical_name}Repository"


def repository_arn_output(service: Service) -> str:
    """Output of this stack (and parameter name elsewhere) carrying the repository's ARN."""
    return f"{service.logical_name}RepositoryArn"


def repository_arn(config: PipelineConfig, service: Service) -> Sub:
    name = names.ecr_repository_name(config.project.name, service.name)
    return Sub(f"arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{name}")


def lifecycle_policy(config: PipelineConfig) -> str:
    """Untagged images expire after D days; of the tagged ones, the newest N are kept."""
    settings = config.pipeline.ecr
    rules = [
        {
            "rulePriority": 1,
            "description": f"expire untagged images after {settings.untagged_expiry_days} days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": settings.untagged_expiry_days,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"keep the last {settings.keep_tagged_images} tagged images",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": settings.keep_tagged_images,
            },
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules}, sort_keys=True)


def add_repository(template: Template, config: PipelineConfig, service: Service) -> ecr.Repository:
    return template.add_resource(
        ecr.Repository(
            repository_title(service),
            RepositoryName=names.ecr_repository_name(config.project.name, service.name),
            ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
            ImageTagMutability="IMMUTABLE",
            # The AWS-managed aws/ecr key: a repository's key cannot change after creation, and the
            # images must outlive any key this stack could delete.
            EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="KMS"),
            LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=lifecycle_policy(config)),
            DeletionPolicy=RETAIN,
            UpdateReplacePolicy=RETAIN,
            Condition=CREATING,
            Tags=tags(config, Service=service.name),
        )
    )


def add_replication(template: Template, config: PipelineConfig) -> ecr.ReplicationConfiguration | None:
    """The registry's replication rule (one per account and region): the project's repositories to the DR region."""
    region = config.pipeline.ecr.replication_region
    if not region:
        return None
    return template.add_resource(
        ecr.ReplicationConfiguration(
            "Replication",
            ReplicationConfiguration=ecr.ReplicationConfigurationProperty(
                Rules=[
                    ecr.ReplicationRule(
                        Destinations=[ecr.ReplicationDestination(Region=region, RegistryId=Sub("${AWS::AccountId}"))],
                        RepositoryFilters=[ecr.RepositoryFilter(Filter=f"{config.project.name}/", FilterType="PREFIX_MATCH")],
                    )
                ]
            ),
        )
    )


def build(config: PipelineConfig) -> Template:
    template = new_template(f"{config.stack_prefix}: the services' image repositories")
    create = template.add_parameter(switch(CREATE_REPOSITORIES))
    template.add_condition(CREATING, Equals(Ref(create), "true"))
    for service in config.project.services:
        add_repository(template, config, service)
        template.add_output(Output(repository_arn_output(service), Value=repository_arn(config, service)))
    add_replication(template, config)
    return template
