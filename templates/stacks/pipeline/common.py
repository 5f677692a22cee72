"""What the pipeline's modules share: the names of its artifacts and namespaces, ARNs in its own account and region."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Sub

from templates.config.pipeline import PipelineConfig

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

