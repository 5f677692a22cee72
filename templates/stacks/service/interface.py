"""What a service stack shares with the root and its siblings: its parameters, the values the root passes,
its shape (what stays literal), and the names the other stacks know its resources by."""

from __future__ import annotations

from troposphere import Equals, Parameter, Ref, Sub, Template

from templates import names
from templates.config.model import Config, Service

CONTAINER = "app"
RUNNING = "Running"  # condition: the service has an image and runs tasks
BLUE, GREEN = "Blue", "Green"


# The per-service parameters: (name, CloudFormation parameter properties).  CloudFormation
# checks the constraints when the stack is created or updated ("Parameters", CloudFormation
# User Guide); the configuration loader has checked the same values before rendering.
SERVICE_NAME = "ServiceName"
ROUTE_PATH = "RoutePath"
RULE_PRIORITY = "RulePriority"
CONTAINER_PORT = "ContainerPort"
HEALTH_CHECK_PATH = "HealthCheckPath"
SECRET_VARIABLE = "SecretVariable"
PER_SERVICE = {
    SERVICE_NAME: {"Type": "String", "AllowedPattern": "[a-z][a-z0-9-]*", "Description": "the service's name in project.yaml"},
    ROUTE_PATH: {"Type": "String", "AllowedPattern": "/.*", "Description": "the ALB path prefix routed to the service"},
    # Listener rule priorities run from 1 to 50000 (ELB API Reference, CreateRule: Priority).
    RULE_PRIORITY: {"Type": "Number", "MinValue": 1, "MaxValue": 50000, "Description": "the listener rules' priority"},
    CONTAINER_PORT: {"Type": "Number", "MinValue": 1, "MaxValue": 65535, "Description": "the port the container listens on"},
    HEALTH_CHECK_PATH: {"Type": "String", "AllowedPattern": "/.*", "Description": "the target groups' health check path"},
    SECRET_VARIABLE: {"Type": "String", "AllowedPattern": "[A-Z][A-Z0-9_]*", "Description": "the variable the secret is injected as"},
}
# The service's name where a Fn::Sub string of the shared template needs it.
SERVICE_NAME_IN_SUB = f"${{{SERVICE_NAME}}}"
# The stack parameter every service template takes for "does the service have an image yet".
RUNNING_PARAMETER = "Running"


def service_values(service: Service) -> dict[str, str]:
    """What the root passes a service's stack, as the strings nested stack parameters are."""
    values = {
        SERVICE_NAME: service.name,
        ROUTE_PATH: service.route_path,
        RULE_PRIORITY: service.rule_priority,
        CONTAINER_PORT: service.container_port,
        HEALTH_CHECK_PATH: service.health_check_path,
        SECRET_VARIABLE: service.secret_variable,
    }
    return {name: str(value) for name, value in values.items()}


BASE_STEM = "service"


def shape(service: Service) -> tuple:
    """What a service's template holds literally rather than as a parameter: services equal in
    it render equal templates (``build`` reads nothing else of the service; a test holds it to that).

    The task's size stays literal so that it is checked before deploying: cfn-lint's E3047 checks
    the Fargate CPU/memory pair, and Control Tower's CT.ECS.PR.7 rule needs a number for the
    container's memory limit.  The health command is a list of any length."""
    return (service.cpu, service.memory, service.run_as_user, tuple(service.container_health_command))


def stack_title(service: Service) -> str:
    return f"{service.logical_name}ServiceStack"


def service_resource_name(config: Config, service_name: str) -> str:
    return f"{config.stack_prefix}-{service_name}"


def resource_name(config: Config, service: Service) -> str:
    """``<project>-<target>-<service>``: the ECS service, its task family and the start of its other names."""
    return service_resource_name(config, service.name)


def named(config: Config, suffix: str = "") -> Sub:
    """``resource_name`` plus ``suffix`` as the shared template spells it: the service's name from its parameter."""
    return Sub(service_resource_name(config, SERVICE_NAME_IN_SUB) + suffix)


def repository_name(config: Config) -> str:
    """The service's ECR repository name, for a Fn::Sub of the shared template."""
    return names.ecr_repository_name(config.project.name, SERVICE_NAME_IN_SUB)


def add_parameters(template: Template) -> dict[str, Parameter]:
    kinds = {
        names.VPC_ID: "AWS::EC2::VPC::Id",
        names.PRIVATE_SUBNET_IDS: "List<AWS::EC2::Subnet::Id>",
        names.LOAD_BALANCER_SECURITY_GROUP_ID: "AWS::EC2::SecurityGroup::Id",
        names.HOOK_SECURITY_GROUP_ID: "AWS::EC2::SecurityGroup::Id",
        names.LOAD_BALANCER_FULL_NAME: "String",
        names.PRODUCTION_LISTENER_ARN: "String",
        names.TEST_LISTENER_ARN: "String",
        names.CLUSTER_NAME: "String",
        names.ENVIRONMENT_KEY_ARN: "String",
        names.HOOK_FUNCTION_ARN: "String",
        names.IMAGE_TAG: "String",
        names.ALERT_TOPIC_ARN: "String",
    }
    params = {name: template.add_parameter(Parameter(name, Type=kind)) for name, kind in kinds.items()}
    params.update({name: template.add_parameter(Parameter(name, **spec)) for name, spec in PER_SERVICE.items()})
    params[RUNNING_PARAMETER] = template.add_parameter(
        Parameter(
            RUNNING_PARAMETER,
            Type="String",
            AllowedValues=["true", "false"],
            Default="true",
            Description="false runs no tasks: the image tag is not in ECR yet",
        )
    )
    template.add_condition(RUNNING, Equals(Ref(params[RUNNING_PARAMETER]), "true"))
    return params


def alarm_name(config: Config, service: Service, kind: str) -> str:
    """Alarm names are fixed, so the environment's composite alarm can name them."""
    return f"{resource_name(config, service)}-{kind}"


def alarm_name_in_template(config: Config, kind: str) -> Sub:
    """``alarm_name`` as the shared template spells it, the service's name from its parameter."""
    return named(config, f"-{kind}")
