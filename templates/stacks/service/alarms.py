"""The service's alarms: over whichever target group is live, on its tasks, and on its ERROR log lines."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template, cloudwatch, logs

from templates import names
from templates.config.model import AlarmSpec, Config
from templates.stacks.service.interface import BLUE, GREEN, SERVICE_NAME_IN_SUB, alarm_name_in_template, named


def target_group_metric(metric_id: str, metric: str, group, params, stat: str, period: int) -> cloudwatch.MetricDataQuery:
    return cloudwatch.MetricDataQuery(
        Id=metric_id,
        ReturnData=False,
        MetricStat=cloudwatch.MetricStat(
            Metric=cloudwatch.Metric(
                Namespace="AWS/ApplicationELB",
                MetricName=metric,
                Dimensions=[
                    cloudwatch.MetricDimension(Name="LoadBalancer", Value=Ref(params[names.LOAD_BALANCER_FULL_NAME])),
                    cloudwatch.MetricDimension(Name="TargetGroup", Value=GetAtt(group, "TargetGroupFullName")),
                ],
            ),
            Period=period,
            Stat=stat,
        ),
    )


# Alarms on the tasks themselves: every one of them breaches while a scheduled
# off-hours window scales the service to zero.  With off_hours set they notify
# through the monitoring stack's composite alarm, whose actions that window suppresses.
QUIET_IN_OFF_HOURS = ("healthy_hosts", "running_tasks")


def notifies_directly(config: Config, kind: str) -> bool:
    return not (config.environment.services.scaling.off_hours.stop and kind in QUIET_IN_OFF_HOURS)


def alarm_settings(spec: AlarmSpec, params, notify: bool = True) -> dict:
    topic = [Ref(params[names.ALERT_TOPIC_ARN])] if notify else []
    return {
        **({"AlarmActions": topic, "OKActions": topic} if notify else {}),
        "EvaluationPeriods": spec.evaluation_periods,
        "DatapointsToAlarm": spec.datapoints_to_alarm,
        "Threshold": spec.threshold,
        "TreatMissingData": spec.treat_missing_data,
    }


def both_groups_alarm(
    template, config, params, groups, title, metric, stat, expression, operator, spec, what, notify=True
) -> cloudwatch.Alarm:
    """An alarm over whichever target group is live: blue and green alternate with every deployment."""
    queries = [target_group_metric(colour.lower(), metric, groups[colour], params, stat, spec.period_seconds) for colour in (BLUE, GREEN)]
    queries.append(cloudwatch.MetricDataQuery(Id="live", Expression=expression, Label=what, ReturnData=True))
    return template.add_resource(
        cloudwatch.Alarm(
            title,
            AlarmName=alarm_name_in_template(config, title[:-5].lower()),
            AlarmDescription=Sub(f"{SERVICE_NAME_IN_SUB}: {what}"),
            ComparisonOperator=operator,
            Metrics=queries,
            **alarm_settings(spec, params, notify),
        )
    )


def add_alarms(template: Template, config: Config, params, groups, log_group) -> dict[str, cloudwatch.Alarm]:
    alarms = config.environment.alarms
    shared = (template, config, params, groups)
    created = {
        "target_5xx": both_groups_alarm(
            *shared,
            "Target5xxAlarm",
            "HTTPCode_Target_5XX_Count",
            "Sum",
            "FILL(blue, 0) + FILL(green, 0)",
            "GreaterThanOrEqualToThreshold",
            alarms.target_5xx,
            "5XX responses from the tasks",
        ),
        "latency_p99": both_groups_alarm(
            *shared,
            "LatencyP99Alarm",
            "TargetResponseTime",
            "p99",
            "MAX([FILL(blue, 0), FILL(green, 0)])",
            "GreaterThanThreshold",
            alarms.latency_p99,
            "p99 target response time (seconds)",
        ),
        "healthy_hosts": both_groups_alarm(
            *shared,
            "HealthyHostsAlarm",
            "HealthyHostCount",
            "Minimum",
            "FILL(blue, 0) + FILL(green, 0)",
            "LessThanThreshold",
            alarms.healthy_hosts,
            "healthy targets",
            notify=notifies_directly(config, "healthy_hosts"),
        ),
    }
    created["running_tasks"] = template.add_resource(
        cloudwatch.Alarm(
            "RunningTasksAlarm",
            AlarmName=alarm_name_in_template(config, "runningtasks"),
            AlarmDescription=Sub(f"{SERVICE_NAME_IN_SUB}: running tasks (CPU samples per period, which needs no Container Insights)"),
            Namespace="AWS/ECS",
            MetricName="CPUUtilization",
            Dimensions=[
                cloudwatch.MetricDimension(Name="ClusterName", Value=Ref(params[names.CLUSTER_NAME])),
                cloudwatch.MetricDimension(Name="ServiceName", Value=named(config)),
            ],
            Statistic="SampleCount",
            Period=alarms.running_tasks.period_seconds,
            ComparisonOperator="LessThanThreshold",
            **alarm_settings(alarms.running_tasks, params, notifies_directly(config, "running_tasks")),
        )
    )
    created["error_logs"] = add_error_log_alarm(template, config, params, log_group)
    return created


ERROR_LOG_PATTERN = '{ $.level = "ERROR" }'


def error_log_metric(config: Config, service_name: str) -> tuple[str, str]:
    """(namespace, metric name) of the count of a service's ERROR log lines."""
    return f"{config.project.name}/{config.target}", f"{service_name}-error-log-lines"


def add_error_log_alarm(template: Template, config: Config, params, log_group) -> cloudwatch.Alarm:
    namespace, metric = error_log_metric(config, SERVICE_NAME_IN_SUB)
    metric = Sub(metric)
    template.add_resource(
        logs.MetricFilter(
            "ErrorLogMetricFilter",
            LogGroupName=Ref(log_group),
            FilterPattern=ERROR_LOG_PATTERN,
            MetricTransformations=[
                logs.MetricTransformation(MetricNamespace=namespace, MetricName=metric, MetricValue="1", DefaultValue=0)
            ],
        )
    )
    spec = config.environment.alarms.error_logs
    return template.add_resource(
        cloudwatch.Alarm(
            "ErrorLogsAlarm",
            AlarmName=alarm_name_in_template(config, "errorlogs"),
            AlarmDescription=Sub(f"{SERVICE_NAME_IN_SUB}: ERROR log lines"),
            Namespace=namespace,
            MetricName=metric,
            Statistic="Sum",
            Period=spec.period_seconds,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            **alarm_settings(spec, params),
        )
    )
