"""Traffic to the service: blue and green target groups, the production and test listener rules, its security group."""

from __future__ import annotations

from troposphere import Ref, Sub, Template, ec2
from troposphere import elasticloadbalancingv2 as elb

from templates import names
from templates.config.model import Config
from templates.stacks.common import tags
from templates.stacks.service.interface import (
    BLUE,
    CONTAINER_PORT,
    GREEN,
    HEALTH_CHECK_PATH,
    ROUTE_PATH,
    RULE_PRIORITY,
    SERVICE_NAME,
    named,
)


def add_target_groups(template: Template, config: Config, params) -> dict[str, elb.TargetGroup]:
    check = config.environment.services.health_check
    groups = {}
    for colour in (BLUE, GREEN):
        groups[colour] = template.add_resource(
            elb.TargetGroup(
                f"{colour}TargetGroup",
                TargetType="ip",
                Protocol="HTTP",
                Port=Ref(params[CONTAINER_PORT]),
                VpcId=Ref(params[names.VPC_ID]),
                HealthCheckPath=Ref(params[HEALTH_CHECK_PATH]),
                HealthCheckIntervalSeconds=check.interval_seconds,
                HealthCheckTimeoutSeconds=check.timeout_seconds,
                HealthyThresholdCount=check.healthy_threshold,
                UnhealthyThresholdCount=check.unhealthy_threshold,
                Matcher=elb.Matcher(HttpCode="200"),
                TargetGroupAttributes=[
                    elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value=str(check.deregistration_delay_seconds))
                ],
                Tags=tags(config, Service=Ref(params[SERVICE_NAME]), Colour=colour.lower()),
            )
        )
    return groups


def add_listener_rules(template: Template, config: Config, params, groups) -> dict[str, elb.ListenerRule]:
    """The production and test rules for the service's path, forwarding with weights ECS rewrites."""
    forward = elb.ListenerRuleAction(
        Type="forward",
        ForwardConfig=elb.ForwardConfig(
            TargetGroups=[
                elb.TargetGroupTuple(TargetGroupArn=Ref(groups[BLUE]), Weight=100),
                elb.TargetGroupTuple(TargetGroupArn=Ref(groups[GREEN]), Weight=0),
            ]
        ),
    )
    condition = elb.Condition(
        Field="path-pattern", PathPatternConfig=elb.PathPatternConfig(Values=[Ref(params[ROUTE_PATH]), Sub(f"${{{ROUTE_PATH}}}/*")])
    )
    return {
        kind: template.add_resource(
            elb.ListenerRule(
                f"{kind}ListenerRule",
                ListenerArn=Ref(params[listener]),
                Priority=Ref(params[RULE_PRIORITY]),
                Conditions=[condition],
                Actions=[forward],
                Tags=tags(config, Service=Ref(params[SERVICE_NAME])),
            )
        )
        for kind, listener in (("Production", names.PRODUCTION_LISTENER_ARN), ("Test", names.TEST_LISTENER_ARN))
    }


def add_security_group(template: Template, config: Config, params) -> ec2.SecurityGroup:
    """Admits the ALB and the blue/green hook on the container port; nothing else."""
    port = Ref(params[CONTAINER_PORT])
    sources = {names.LOAD_BALANCER_SECURITY_GROUP_ID: "the load balancer", names.HOOK_SECURITY_GROUP_ID: "the blue/green health-check hook"}
    return template.add_resource(
        ec2.SecurityGroup(
            "TaskSecurityGroup",
            GroupDescription=named(config, " tasks"),
            VpcId=Ref(params[names.VPC_ID]),
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp", FromPort=port, ToPort=port, SourceSecurityGroupId=Ref(params[name]), Description=who
                )
                for name, who in sources.items()
            ],
            # HTTPS to AWS APIs: through the VPC endpoints, or NAT where the environment has it.
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0", Description="HTTPS to AWS APIs")
            ],
            Tags=tags(config, Service=Ref(params[SERVICE_NAME])),
        )
    )
