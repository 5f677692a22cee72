"""The service's identity and secrets: its generated secret, its settings, the roles that start and run its task."""

from __future__ import annotations

from awacs.aws import Condition, StringEquals
from troposphere import Ref, Sub, Template, iam, secretsmanager, ssm

from templates import names
from templates.config.model import Config, camel_case
from templates.iam import policies
from templates.stacks.common import RETAIN, role, skip_checks, tags
from templates.stacks.service.interface import SECRET_VARIABLE, SERVICE_NAME_IN_SUB, named, repository_name, service_resource_name


def repository_arn(config: Config) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{repository_name(config)}")


def parameter_arn(parameter: ssm.Parameter) -> Sub:
    return Sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Name}", Name=Ref(parameter))


def add_secret(template: Template, config: Config, key_arn) -> secretsmanager.Secret:
    # Retained, so its name carries the stack instance: the leftover secret of a deleted
    # target never blocks deploying that target again (a fixed name fails with "already exists").
    secret = secretsmanager.Secret(
        "Secret",
        Name=names.retained_name(service_resource_name(config, SERVICE_NAME_IN_SUB) + "/app"),
        Description=named(config, f": {SERVICE_NAME_IN_SUB}'s generated secret, injected as ${{{SECRET_VARIABLE}}}"),
        KmsKeyId=key_arn,
        GenerateSecretString=secretsmanager.GenerateSecretString(PasswordLength=48, ExcludePunctuation=True),
        DeletionPolicy=RETAIN,
        UpdateReplacePolicy=RETAIN,
        Tags=tags(config),
    )
    skip_checks(secret, {"CKV_AWS_149": "encrypted with the environment's customer-managed key through KmsKeyId"})
    return template.add_resource(secret)


def add_settings(template: Template, config: Config) -> dict[str, ssm.Parameter]:
    """Plain configuration as SSM parameters, injected by ARN like the secret."""
    values = {"LOG_LEVEL": config.environment.services.log_level}
    return {
        variable: template.add_resource(
            ssm.Parameter(
                f"Setting{camel_case(variable)}",
                Name=Sub(f"/{config.stack_prefix}/{SERVICE_NAME_IN_SUB}/{variable}"),
                Type="String",
                Value=value,
                Tags={"Project": config.project.name, "Target": config.target},
            )
        )
        for variable, value in values.items()
    }


def add_execution_role(template: Template, config: Config, group, secret, settings, key_arn) -> iam.Role:
    """What ECS needs to start the task: pull this service's image, write its log group, read its secret."""
    statements = [
        policies.wildcard_statement(["ecr:GetAuthorizationToken"], sid="RegistryLogin"),
        policies.allow(
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            [repository_arn(config)],
            sid="PullThisServicesImage",
        ),
        policies.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [policies.log_group_arn(Ref(group))], sid="WriteThisServicesLogs"),
        policies.allow(["secretsmanager:GetSecretValue"], [Ref(secret)], sid="ReadThisServicesSecret"),
        policies.allow(["ssm:GetParameters"], [parameter_arn(p) for p in settings.values()], sid="ReadThisServicesSettings"),
        policies.allow(
            ["kms:Decrypt"],
            [key_arn],
            sid="DecryptTheSecret",
            condition=Condition(StringEquals({"kms:ViaService": Sub("secretsmanager.${AWS::Region}.${AWS::URLSuffix}")})),
        ),
    ]
    return role(template, "ExecutionRole", "ecs-execution", "start-task", *statements)


def add_task_role(template: Template, settings) -> iam.Role:
    """What the running code may do: re-read its own settings, nothing else."""
    own_settings = policies.allow(["ssm:GetParameter", "ssm:GetParameters"], [parameter_arn(p) for p in settings.values()])
    return role(template, "TaskRole", "ecs-task", "own-settings", own_settings)
