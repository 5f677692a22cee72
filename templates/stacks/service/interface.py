"""What a service stack shares with the root and its siblings: its parameters, the values the root passes,
its shape (what stays literal), and the names the other stacks know its resources by."""

from __future__ import annotations

from typing import NamedTuple

from troposphere import And, Condition, Equals, Parameter, Ref, Sub, Template

from templates import names
from templates.config.fields import Check, declared, parameter_constraints
from templates.config.model import LISTENER_RULE_PRIORITY, Config, Service
from templates.stacks.common import switch

CONTAINER = "app"
RUNNING = "Running"  # condition: the service has an image and runs tasks
KEEP_DESIRED_COUNT = "KeepDesiredCount"  # condition: a release of a running service, which keeps its desired count
BLUE, GREEN = "Blue", "Green"


SERVICE_NAME = "ServiceName"
ROUTE_PATH = "RoutePath"
RULE_PRIORITY = "RulePriority"
CONTAINER_PORT = "ContainerPort"
HEALTH_CHECK_PATH = "HealthCheckPath"
SECRET_VARIABLE = "SecretVariable"


class PerService(NamedTuple):
    """A stack parameter the root gives each service: the Service attribute it comes from, the check that
    constrains it (the field's own declaration), and what it is."""

    attribute: str
    check: Check
    description: str


# CloudFormation checks the constraints when the stack is created or updated ("Parameters", CloudFormation
# User Guide); the loader has checked the same values, with the same declarations, before rendering.
PER_SERVICE_VALUES = {
    SERVICE_NAME: PerService("name", declared(Service, "name"), "the service's name in project.yaml"),
    ROUTE_PATH: PerService("route_path", declared(Service, "route_path"), "the ALB path prefix routed to the service"),
    # The priority itself, explicit or derived from the route (the field's 0 means "derive it").
    RULE_PRIORITY: PerService("rule_priority", LISTENER_RULE_PRIORITY, "the listener rules' priority"),
    CONTAINER_PORT: PerService("container_port", declared(Service, "container_port"), "the port the container listens on"),
    HEALTH_CHECK_PATH: PerService("health_check_path", declared(Service, "health_check_path"), "the target groups' health check path"),
    SECRET_VARIABLE: PerService("secret_variable", declared(Service, "secret_variable"), "the variable the secret is injected as"),
}


def _parameter(spec: PerService) -> dict:
    kind = "Number" if "MinValue" in parameter_constraints(spec.check) else "String"
    return {"Type": kind, **parameter_constraints(spec.check), "Description": spec.description}


PER_SERVICE = {name: _parameter(spec) for name, spec in PER_SERVICE_VALUES.items()}
# The service's name where a Fn::Sub string of the shared template needs it.
SERVICE_NAME_IN_SUB = f"${{{SERVICE_NAME}}}"
# The stack parameters every service template takes for "does the service have an image yet" and "is this a
# release of a service that runs already" (deploy.py decides both; the root passes them down).
RUNNING_PARAMETER = "Running"
KEEP_DESIRED_COUNT_PARAMETER = "KeepDesiredCount"


def service_values(service: Service) -> dict[str, str]:
    """What the root passes a service's stack, as the strings nested stack parameters are."""
    return {name: str(getattr(service, spec.attribute)) for name, spec in PER_SERVICE_VALUES.items()}


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
        switch(RUNNING_PARAMETER, "false runs no tasks: the image tag is not in ECR yet")
    )
    template.add_condition(RUNNING, Equals(Ref(params[RUNNING_PARAMETER]), "true"))
    params[KEEP_DESIRED_COUNT_PARAMETER] = template.add_parameter(
        switch(KEEP_DESIRED_COUNT_PARAMETER, "true: a release of a running service, which leaves its desired count as it is", "false")
    )
    template.add_condition(KEEP_DESIRED_COUNT, And(Condition(RUNNING), Equals(Ref(params[KEEP_DESIRED_COUNT_PARAMETER]), "true")))
    return params


def alarm_name(config: Config, service: Service, kind: str) -> str:
    """Alarm names are fixed, so the environment's composite alarm can name them."""
    return f"{resource_name(config, service)}-{kind}"


def alarm_name_in_template(config: Config, kind: str) -> Sub:
    """``alarm_name`` as the shared template spells it, the service's name from its parameter."""
    return named(config, f"-{kind}")
