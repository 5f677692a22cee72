"""Autoscaling: target tracking on CPU and on requests per task, the environment's cooldowns, off-hours schedules."""

from __future__ import annotations

from troposphere import GetAtt, If, Join, Ref, Template
from troposphere import applicationautoscaling as scaling

from templates import names
from templates.config.model import Config
from templates.stacks.common import tags
from templates.stacks.service.interface import BLUE, GREEN, RUNNING, SERVICE_NAME, named


def add_autoscaling(template: Template, config: Config, params, ecs_service, groups) -> scaling.ScalableTarget:
    settings = config.environment.services.scaling
    target = template.add_resource(
        scaling.ScalableTarget(
            "ScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Join("/", ["service", Ref(params[names.CLUSTER_NAME]), GetAtt(ecs_service, "Name")]),
            MinCapacity=If(RUNNING, settings.min_tasks, 0),
            MaxCapacity=If(RUNNING, settings.max_tasks, 0),
            ScheduledActions=off_hours_actions(config) or Ref("AWS::NoValue"),
            Tags=tags(config, Service=Ref(params[SERVICE_NAME])),
        )
    )
    cpu = scaling.PredefinedMetricSpecification(PredefinedMetricType="ECSServiceAverageCPUUtilization")
    add_tracking_policy(template, config, target, "Cpu", settings.cpu_target_percent, PredefinedMetricSpecification=cpu)
    add_tracking_policy(
        template,
        config,
        target,
        "Requests",
        settings.requests_per_target,
        CustomizedMetricSpecification=requests_per_task(params, groups),
    )
    return target


def add_tracking_policy(template: Template, config: Config, target, name: str, value: int, **metric):
    """A target-tracking policy holding ``value`` of the given metric, with the environment's cooldowns."""
    settings = config.environment.services.scaling
    return template.add_resource(
        scaling.ScalingPolicy(
            f"{name}ScalingPolicy",
            PolicyName=named(config, f"-{name.lower()}"),
            PolicyType="TargetTrackingScaling",
            ScalingTargetId=Ref(target),
            TargetTrackingScalingPolicyConfiguration=scaling.TargetTrackingScalingPolicyConfiguration(
                TargetValue=float(value),
                ScaleInCooldown=settings.scale_in_cooldown_seconds,
                ScaleOutCooldown=settings.scale_out_cooldown_seconds,
                **metric,
            ),
        )
    )


def requests_per_task(params, groups) -> scaling.CustomizedMetricSpecification:
    """ALB requests per target over whichever target group is live (blue and green alternate)."""

    def query(colour: str) -> scaling.TargetTrackingMetricDataQuery:
        return scaling.TargetTrackingMetricDataQuery(
            Id=colour.lower(),
            ReturnData=False,
            MetricStat=scaling.TargetTrackingMetricStat(
                Metric=scaling.TargetTrackingMetric(
                    Namespace="AWS/ApplicationELB",
                    MetricName="RequestCountPerTarget",
                    Dimensions=[
                        scaling.TargetTrackingMetricDimension(Name="TargetGroup", Value=GetAtt(groups[colour], "TargetGroupFullName"))
                    ],
                ),
                Stat="Sum",
            ),
        )

    return scaling.CustomizedMetricSpecification(
        Metrics=[
            query(BLUE),
            query(GREEN),
            scaling.TargetTrackingMetricDataQuery(Id="live", Expression="FILL(blue, 0) + FILL(green, 0)", ReturnData=True),
        ]
    )


def off_hours_actions(config: Config) -> list[scaling.ScheduledAction]:
    settings = config.environment.services.scaling
    hours = settings.off_hours
    if not hours.stop:
        return []
    return [
        scaling.ScheduledAction(
            ScheduledActionName="stop-outside-working-hours",
            Schedule=hours.stop,
            Timezone=hours.timezone,
            ScalableTargetAction=scaling.ScalableTargetAction(MinCapacity=0, MaxCapacity=0),
        ),
        scaling.ScheduledAction(
            ScheduledActionName="start-for-working-hours",
            Schedule=hours.start,
            Timezone=hours.timezone,
            ScalableTargetAction=scaling.ScalableTargetAction(
                MinCapacity=If(RUNNING, settings.min_tasks, 0), MaxCapacity=If(RUNNING, settings.max_tasks, 0)
            ),
        ),
    ]
