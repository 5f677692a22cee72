"""The ECS service and its blue/green deployment: the roles ECS assumes, the hook, the alarms that roll back."""

from __future__ import annotations

from troposphere import GetAtt, If, Ref, Template, ecs, iam

from templates import names
from templates.config.model import HOOK_TIMEOUT_MINUTES
from templates.iam import policies
from templates.stacks.common import role, tags
from templates.stacks.service.interface import (
    BLUE,
    CONTAINER,
    CONTAINER_PORT,
    GREEN,
    HEALTH_CHECK_PATH,
    KEEP_DESIRED_COUNT,
    RUNNING,
    SERVICE_NAME,
    named,
)


def ecs_role(template: Template, title: str, policy_name: str, *statements) -> iam.Role:
    """A role ECS itself assumes, trusted exactly as the ECS guide documents it: ecs.amazonaws.com,
    sts:AssumeRole, no condition ("Amazon ECS infrastructure IAM role for load balancers";
    "Permissions required for Lambda functions in Amazon ECS blue/green deployments")."""
    return role(template, title, "ecs", policy_name, *statements)


def add_load_balancer_role(template: Template, groups, rules) -> iam.Role:
    """ECS shifts traffic with this role: only these two rules and these two target groups."""
    statements = [
        policies.wildcard_statement(
            [
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:DescribeListeners",
            ],
            sid="ReadLoadBalancer",
        ),
        policies.allow(["elasticloadbalancing:ModifyRule"], [Ref(rule) for rule in rules.values()], sid="ShiftTraffic"),
        policies.allow(
            ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            [Ref(group) for group in groups.values()],
            sid="MoveTasks",
        ),
    ]
    return ecs_role(template, "BlueGreenRole", "shift-traffic", *statements)


def add_hook_role(template: Template, params) -> iam.Role:
    invoke = policies.allow(["lambda:InvokeFunction"], [Ref(params[names.HOOK_FUNCTION_ARN])])
    return ecs_role(template, "LifecycleHookRole", "invoke-health-check", invoke)



# Alarms that roll a deployment back: they judge the new revision's behaviour.
ROLLBACK_ALARMS = ("target_5xx", "latency_p99")


# --- the service -------------------------------------------------------------------------


def add_service(template, config, params, task_definition, security_group, groups, rules, alarms, roles) -> ecs.Service:
    """``roles``: the ECS roles that shift traffic (``load_balancer``) and invoke the hook (``hook``)."""
    settings = config.environment.services
    hook_details = {
        "serviceName": Ref(params[SERVICE_NAME]),
        "testListenerRuleArn": Ref(rules["Test"]),
        "port": Ref(params[CONTAINER_PORT]),  # a string once resolved; the hook accepts both
        "healthPath": Ref(params[HEALTH_CHECK_PATH]),
    }
    return template.add_resource(
        ecs.Service(
            "Service",
            ServiceName=named(config),
            Cluster=Ref(params[names.CLUSTER_NAME]),
            TaskDefinition=Ref(task_definition),
            # Created (or given its first image) with the minimum, none without an image; a release of a running
            # service leaves the count to autoscaling: "For existing services, if a desired count is not specified,
            # it is omitted from the operation" (AWS::ECS::Service DesiredCount, CloudFormation reference:
            # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html).
            DesiredCount=If(KEEP_DESIRED_COUNT, Ref("AWS::NoValue"), If(RUNNING, settings.scaling.min_tasks, 0)),
            HealthCheckGracePeriodSeconds=settings.health_check.grace_period_seconds,
            NetworkConfiguration=ecs.NetworkConfiguration(
                AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                    Subnets=Ref(params[names.PRIVATE_SUBNET_IDS]), SecurityGroups=[Ref(security_group)], AssignPublicIp="DISABLED"
                )
            ),
            LoadBalancers=[
                ecs.LoadBalancer(
                    ContainerName=CONTAINER,
                    ContainerPort=Ref(params[CONTAINER_PORT]),
                    TargetGroupArn=Ref(groups[BLUE]),
                    AdvancedConfiguration=ecs.AdvancedConfiguration(
                        AlternateTargetGroupArn=Ref(groups[GREEN]),
                        ProductionListenerRule=Ref(rules["Production"]),
                        TestListenerRule=Ref(rules["Test"]),
                        RoleArn=GetAtt(roles["load_balancer"], "Arn"),
                    ),
                )
            ],
            DeploymentController=ecs.DeploymentController(Type="ECS"),
            DeploymentConfiguration=ecs.DeploymentConfiguration(
                Strategy="BLUE_GREEN",
                BakeTimeInMinutes=settings.bake_time_minutes,
                MaximumPercent=200,
                MinimumHealthyPercent=100,
                # The circuit breaker stops a green revision that never becomes healthy (a crash loop, an image
                # it cannot pull), which never reaches the hook: "Both methods [circuit breaker and alarms] only
                # support rolling update deployment and blue/green deployment types" (ECS Developer Guide,
                # "Amazon ECS deployment failure detection":
                # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-failure-detection.html).
                # The API reference's "rolling update (ECS) deployment type" is the ECS controller, which
                # ECS-native blue/green uses too.  The hook's FAILED, its timeout and the alarms roll back the rest.
                DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
                Alarms=ecs.DeploymentAlarms(AlarmNames=[Ref(alarms[name]) for name in ROLLBACK_ALARMS], Enable=True, Rollback=True),
                LifecycleHooks=[
                    ecs.DeploymentLifecycleHook(
                        HookTargetArn=Ref(params[names.HOOK_FUNCTION_ARN]),
                        RoleArn=GetAtt(roles["hook"], "Arn"),
                        LifecycleStages=["POST_TEST_TRAFFIC_SHIFT"],
                        HookDetails=hook_details,
                        # A backstop beyond the hook's own bound: ECS rolls back if the hook never answers.
                        TimeoutConfiguration=ecs.HookTimeoutConfig(TimeoutInMinutes=HOOK_TIMEOUT_MINUTES, Action="ROLLBACK"),
                    )
                ],
            ),
            PropagateTags="SERVICE",
            EnableECSManagedTags=True,
            Tags=tags(config, Service=Ref(params[SERVICE_NAME])),
        )
    )
