"""One nested stack per service: its task, its ECS service with ECS-native
blue/green deployments gated by the health-check hook, autoscaling and alarms.

Built in a loop from ``parameters/project.yaml``; nothing here is per-service code.
What differs between services (name, route, port, size, ...) is a stack parameter the
root passes in (``service_values``), so every service of one shape shares one template:
rendered, linted, uploaded and stored once however many services there are.

Blue/green: the service registers its tasks in the blue target group; ECS
starts a new revision's tasks in the green one, points the test listener rule
at them, asks the hook function at POST_TEST_TRAFFIC_SHIFT, shifts the
production rule, waits the bake time and drains blue.  Which group is "green"
alternates with every deployment, so the listener rules list both with
weights and ECS rewrites the weights; the template never changes them.

``interface`` holds what the root and the siblings share with the stack (its parameters, the values the
root passes, its shape, its names); ``identity``, ``task``, ``traffic``, ``alarms``, ``deployment`` and
``scaling`` each add one section of the template; ``build`` below puts them together.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Template

from templates import names
from templates.config.model import Config, Service
from templates.stacks.common import log_group, new_template
from templates.stacks.service.alarms import add_alarms
from templates.stacks.service.deployment import add_hook_role, add_load_balancer_role, add_service
from templates.stacks.service.identity import add_execution_role, add_secret, add_settings, add_task_role
from templates.stacks.service.interface import (
    BASE_STEM,
    BLUE,
    GREEN,
    KEEP_DESIRED_COUNT_PARAMETER,
    PER_SERVICE,
    RUNNING_PARAMETER,
    SERVICE_NAME,
    SERVICE_NAME_IN_SUB,
    add_parameters,
    alarm_name,
    resource_name,
    service_values,
    shape,
    stack_title,
)
from templates.stacks.service.scaling import add_autoscaling
from templates.stacks.service.task import add_task_definition
from templates.stacks.service.traffic import add_listener_rules, add_security_group, add_target_groups

# What the root, the monitoring stack and the tests use of a service stack.
__all__ = [
    "BASE_STEM",
    "PER_SERVICE",
    "KEEP_DESIRED_COUNT_PARAMETER",
    "RUNNING_PARAMETER",
    "SERVICE_NAME",
    "alarm_name",
    "build",
    "resource_name",
    "service_values",
    "shape",
    "stack_title",
]


def build(config: Config, service: Service) -> Template:
    """The template of ``service``'s stack; services differing only in ``service_values`` get equal ones."""
    template = new_template(f"{config.stack_prefix}: an ECS service with blue/green deployments (its name and settings are parameters)")
    params = add_parameters(template)
    key_arn = Ref(params[names.ENVIRONMENT_KEY_ARN])
    group = log_group(template, "LogGroup", config, names.retained_name(f"/ecs/{config.stack_prefix}/{SERVICE_NAME_IN_SUB}"), key_arn)
    secret = add_secret(template, config, key_arn)
    settings = add_settings(template, config)
    execution_role = add_execution_role(template, config, group, secret, settings, key_arn)
    task_role = add_task_role(template, settings)
    task_definition = add_task_definition(template, config, service, params, group, secret, settings, execution_role, task_role)
    groups = add_target_groups(template, config, params)
    rules = add_listener_rules(template, config, params, groups)
    security_group = add_security_group(template, config, params)
    roles = {"load_balancer": add_load_balancer_role(template, groups, rules), "hook": add_hook_role(template, params)}
    alarms = add_alarms(template, config, params, groups, group)
    ecs_service = add_service(template, config, params, task_definition, security_group, groups, rules, alarms, roles)
    add_autoscaling(template, config, params, ecs_service, groups)
    outputs = {
        "ServiceName": GetAtt(ecs_service, "Name"),
        "BlueTargetGroup": GetAtt(groups[BLUE], "TargetGroupFullName"),
        "GreenTargetGroup": GetAtt(groups[GREEN], "TargetGroupFullName"),
        "LogGroupName": Ref(group),
    }
    for what, value in outputs.items():
        template.add_output(Output(what, Value=value))
    return template
