"""The task definition: one hardened container, its image from the service's repository at the release's tag."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, ecs

from templates import names
from templates.config.model import Config
from templates.stacks.common import tags
from templates.stacks.service.identity import parameter_arn
from templates.stacks.service.interface import (
    CONTAINER,
    CONTAINER_PORT,
    HEALTH_CHECK_PATH,
    ROUTE_PATH,
    SECRET_VARIABLE,
    SERVICE_NAME,
    named,
    repository_name,
)


def image(config: Config, params) -> Sub:
    return Sub(
        f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{repository_name(config)}:${{Tag}}",
        Tag=Ref(params[names.IMAGE_TAG]),
    )


def add_task_definition(template, config, service, params, group, secret, settings, execution_role, task_role) -> ecs.TaskDefinition:
    port = Ref(params[CONTAINER_PORT])
    container = ecs.ContainerDefinition(
        Name=CONTAINER,
        Image=image(config, params),
        Essential=True,
        # The container's hard memory limit, the whole task's (Control Tower CT.ECS.PR.7); on Fargate
        # it may not exceed the task's Memory (ECS Developer Guide, "Container definitions: memory").
        Memory=service.memory,
        User=service.run_as_user,
        ReadonlyRootFilesystem=True,
        PortMappings=[ecs.PortMapping(ContainerPort=port, Protocol="tcp")],
        MountPoints=[ecs.MountPoint(SourceVolume="tmp", ContainerPath="/tmp", ReadOnly=False)],
        Environment=[
            ecs.Environment(Name="PORT", Value=port),
            ecs.Environment(Name="SERVICE_NAME", Value=Ref(params[SERVICE_NAME])),
            ecs.Environment(Name="SERVICE_VERSION", Value=Ref(params[names.IMAGE_TAG])),
            ecs.Environment(Name="ROUTE_PREFIX", Value=Ref(params[ROUTE_PATH])),
            # The container health command checks the same path the target groups do (service_kit.healthcheck).
            ecs.Environment(Name="HEALTH_CHECK_PATH", Value=Ref(params[HEALTH_CHECK_PATH])),
        ],
        Secrets=[ecs.Secret(Name=Ref(params[SECRET_VARIABLE]), ValueFrom=Ref(secret))]
        + [ecs.Secret(Name=variable, ValueFrom=parameter_arn(p)) for variable, p in settings.items()],
        HealthCheck=ecs.HealthCheck(Command=list(service.container_health_command), Interval=15, Timeout=5, Retries=3, StartPeriod=15),
        LogConfiguration=ecs.LogConfiguration(
            LogDriver="awslogs",
            Options={"awslogs-group": Ref(group), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": Ref(params[SERVICE_NAME])},
        ),
        StopTimeout=30,
    )
    return template.add_resource(
        ecs.TaskDefinition(
            "TaskDefinition",
            Family=named(config),
            Cpu=str(service.cpu),
            Memory=str(service.memory),
            NetworkMode="awsvpc",
            RequiresCompatibilities=["FARGATE"],
            RuntimePlatform=ecs.RuntimePlatform(CpuArchitecture="X86_64", OperatingSystemFamily="LINUX"),
            ExecutionRoleArn=GetAtt(execution_role, "Arn"),
            TaskRoleArn=GetAtt(task_role, "Arn"),
            ContainerDefinitions=[container],
            Volumes=[ecs.Volume(Name="tmp")],
            Tags=tags(config),
        )
    )
