"""What operators watch, per environment: a composite health alarm, the
scheduled canary and its alarm, ECS deployment failures and rollbacks on the
topic, a dashboard, saved Logs Insights queries and, optionally, a log archive.

It is created after every service stack (it reads their target groups), so the
alarms, log groups and metrics it names exist.
"""

from __future__ import annotations

import json

from troposphere import GetAtt, Parameter, Ref, Sub, Template, awslambda, cloudwatch, events, firehose, logs, scheduler

from templates import names
from templates.config.model import Config, Service, camel_case
from templates.iam import policies
from templates.stacks import service
from templates.stacks.common import new_template, role, secure_bucket
from templates.stacks.health_check import canary_namespace

# The alarms of a service whose state says "unhealthy", for the composite alarm.
UNHEALTHY = ("healthyhosts", "runningtasks", "target5xx")
SERVICE_OUTPUTS = ("BlueTargetGroup", "GreenTargetGroup", "LogGroupName")

# During a scheduled off-hours window the services run no task, so every alarm on
# tasks or on the canary breaches by design.  The composite alarm's actions are
# suppressed while the off-hours alarm is in ALARM (set by two schedules), and for
# a while after it leaves ALARM, so services have time to start; a service that
# should run and is still unhealthy after that makes the composite alarm notify
# (CloudWatch: after ActionsSuppressorExtensionPeriod, "the composite alarm performs its actions").
OFF_HOURS_WAIT_SECONDS = 600  # how long the composite waits for the off-hours alarm at the window's start
OFF_HOURS_EXTENSION_SECONDS = 900  # how long services get to start after the window ends


def service_parameter(s: Service, what: str) -> str:
    return names.service_output(s.logical_name, what)


def add_parameters(template: Template, config: Config) -> dict[str, Parameter]:
    kinds = {
        names.ALERT_TOPIC_ARN: "String",
        names.LOAD_BALANCER_FULL_NAME: "String",
        names.CLUSTER_NAME: "String",
        names.CANARY_FUNCTION_ARN: "String",
    }
    if config.environment.logs.archive:
        kinds[names.ENVIRONMENT_KEY_ARN] = "String"
    for s in config.project.services:
        for what in SERVICE_OUTPUTS:
            kinds[service_parameter(s, what)] = "String"
    return {name: template.add_parameter(Parameter(name, Type=kind)) for name, kind in kinds.items()}


def topic(params) -> list:
    return [Ref(params[names.ALERT_TOPIC_ARN])]


# --- alarms ---------------------------------------------------------------------


def has_off_hours(config: Config) -> bool:
    return bool(config.environment.services.scaling.off_hours.stop)


def canary_alarm_name(config: Config) -> str:
    return f"{config.stack_prefix}-canary"


def off_hours_alarm_name(config: Config) -> str:
    return f"{config.stack_prefix}-off-hours"


def add_composite_alarm(template: Template, config: Config, params) -> cloudwatch.CompositeAlarm:
    watched = [service.alarm_name(config, s, kind) for s in config.project.services for kind in UNHEALTHY]
    suppression = {}
    if has_off_hours(config):
        watched.append(canary_alarm_name(config))
        suppression = {
            "ActionsSuppressor": off_hours_alarm_name(config),
            "ActionsSuppressorWaitPeriod": OFF_HOURS_WAIT_SECONDS,
            "ActionsSuppressorExtensionPeriod": OFF_HOURS_EXTENSION_SECONDS,
        }
    return template.add_resource(
        cloudwatch.CompositeAlarm(
            "AnyServiceUnhealthyAlarm",
            AlarmName=f"{config.stack_prefix}-any-service-unhealthy",
            AlarmDescription="a service has too few healthy or running tasks, or its tasks answer 5XX"
            + (", or the canary failed (quiet during the off-hours window)" if suppression else ""),
            AlarmRule=" OR ".join(f'ALARM("{name}")' for name in watched),
            AlarmActions=topic(params),
            OKActions=topic(params),
            **suppression,
        )
    )


def add_off_hours_alarm(template: Template, config: Config) -> cloudwatch.Alarm:
    """In ALARM exactly during the off-hours window: two schedules set its state, and a metric
    nothing publishes with missing data ignored keeps the state they set."""
    hours = config.environment.services.scaling.off_hours
    alarm = template.add_resource(
        cloudwatch.Alarm(
            "OffHoursAlarm",
            AlarmName=off_hours_alarm_name(config),
            AlarmDescription=f"in ALARM while every service is scaled to zero ({hours.stop} to {hours.start}, {hours.timezone})",
            Namespace=f"{config.project.name}/{config.target}",
            MetricName="OffHoursWindow",
            Statistic="Maximum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="ignore",
        )
    )
    alarm_arn = Sub(f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{off_hours_alarm_name(config)}")
    setter = role(
        template,
        "OffHoursSchedulerRole",
        "scheduler",
        "set-off-hours-alarm",
        policies.allow(["cloudwatch:SetAlarmState"], [alarm_arn]),
    )
    windows = (("OffHoursStartSchedule", "on", hours.stop, "ALARM"), ("OffHoursEndSchedule", "off", hours.start, "OK"))
    for title, suffix, expression, state in windows:
        template.add_resource(
            scheduler.Schedule(
                title,
                # Named, so the deploy role can be limited to the environment's schedules (schedules take no tags);
                # at most 64 characters: the prefix is at most 50 (templates/config/rules.py, LONGEST_DERIVED_NAME).
                Name=f"{config.stack_prefix}-offhours-{suffix}",
                Description=f"{config.stack_prefix}: off-hours window {'starts' if state == 'ALARM' else 'ends'}",
                ScheduleExpression=expression,
                ScheduleExpressionTimezone=hours.timezone,
                FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
                State="ENABLED",
                Target=scheduler.Target(
                    # A universal target: the CloudWatch SetAlarmState call itself (EventBridge Scheduler guide).
                    Arn=Sub("arn:${AWS::Partition}:scheduler:::aws-sdk:cloudwatch:setAlarmState"),
                    RoleArn=GetAtt(setter, "Arn"),
                    Input=json.dumps(
                        {"AlarmName": off_hours_alarm_name(config), "StateValue": state, "StateReason": "scheduled off-hours window"},
                        sort_keys=True,
                    ),
                ),
            )
        )
    return alarm


def add_canary_schedule(template: Template, config: Config, params) -> events.Rule:
    rule = template.add_resource(
        events.Rule(
            "CanarySchedule",
            Description=f"{config.stack_prefix}: check every public health URL",
            ScheduleExpression=config.environment.canary.schedule,
            State="ENABLED",
            Targets=[events.Target(Id="canary", Arn=Ref(params[names.CANARY_FUNCTION_ARN]))],
        )
    )
    template.add_resource(
        awslambda.Permission(
            "CanarySchedulePermission",
            Action="lambda:InvokeFunction",
            FunctionName=Ref(params[names.CANARY_FUNCTION_ARN]),
            Principal="events.amazonaws.com",
            SourceArn=GetAtt(rule, "Arn"),
        )
    )
    return rule


def add_canary_alarm(template: Template, config: Config, params) -> cloudwatch.Alarm:
    """The worst service's canary result: below 1 means a public URL failed; no data means the canary stopped."""
    spec = config.environment.alarms.canary
    queries = [
        cloudwatch.MetricDataQuery(
            Id=f"s{index}",
            ReturnData=False,
            MetricStat=cloudwatch.MetricStat(
                Metric=cloudwatch.Metric(
                    Namespace=canary_namespace(config),
                    MetricName="HealthCheckSuccess",
                    Dimensions=[cloudwatch.MetricDimension(Name="Service", Value=s.name)],
                ),
                Period=spec.period_seconds,
                Stat="Minimum",
            ),
        )
        for index, s in enumerate(config.project.services)
    ]
    ids = ", ".join(q.properties["Id"] for q in queries)
    queries.append(cloudwatch.MetricDataQuery(Id="worst", Expression=f"MIN([{ids}])", Label="worst canary result", ReturnData=True))
    return template.add_resource(
        cloudwatch.Alarm(
            "CanaryAlarm",
            AlarmName=canary_alarm_name(config),
            AlarmDescription="a public health URL failed the canary, or the canary stopped reporting",
            Metrics=queries,
            ComparisonOperator="LessThanThreshold",
            Threshold=spec.threshold,
            EvaluationPeriods=spec.evaluation_periods,
            DatapointsToAlarm=spec.datapoints_to_alarm,
            TreatMissingData=spec.treat_missing_data,
            # With an off-hours window it notifies through the composite alarm, which the window quiets.
            **({} if has_off_hours(config) else {"AlarmActions": topic(params), "OKActions": topic(params)}),
        )
    )


def deployment_event_pattern(config: Config) -> dict:
    """Failed ECS deployments, and the rollbacks ECS starts (IN_PROGRESS with a rollback reason)."""
    services = Sub(f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:service/{config.stack_prefix}/")
    return {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Deployment State Change"],
        "resources": [{"prefix": services}],
        "$or": [
            {"detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}},
            {"detail": {"eventName": ["SERVICE_DEPLOYMENT_IN_PROGRESS"], "reason": [{"wildcard": "*roll*back*"}]}},
        ],
    }


def add_deployment_events(template: Template, config: Config, params) -> events.Rule:
    return template.add_resource(
        events.Rule(
            "DeploymentFailuresRule",
            Description=f"{config.stack_prefix}: ECS deployment failures and rollbacks to the alert topic",
            EventPattern=deployment_event_pattern(config),
            State="ENABLED",
            Targets=[
                events.Target(
                    Id="alerts",
                    Arn=Ref(params[names.ALERT_TOPIC_ARN]),
                    InputTransformer=events.InputTransformer(
                        InputPathsMap={"service": "$.resources[0]", "event": "$.detail.eventName", "reason": "$.detail.reason"},
                        InputTemplate='"<event> for <service>: <reason>"',
                    ),
                )
            ],
        )
    )


# --- dashboard ------------------------------------------------------------------


def metric_widget(title: str, metrics: list, x: int, y: int, width: int = 6, stat: str = "Sum") -> dict:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": width,
        "height": 6,
        "properties": {"title": title, "metrics": metrics, "stat": stat, "period": 60, "region": "${AWS::Region}", "view": "timeSeries"},
    }


def target_group_metrics(metric: str, s: Service, stat: str) -> list:
    """Both target groups of a service: the live one alternates."""
    return [
        [
            "AWS/ApplicationELB",
            metric,
            "LoadBalancer",
            "${LoadBalancer}",
            "TargetGroup",
            f"${{{service_parameter(s, colour)}}}",
            {"stat": stat, "label": f"{s.name} {colour[:-11].lower()} {stat}"},
        ]
        for colour in ("BlueTargetGroup", "GreenTargetGroup")
    ]


def service_row(config: Config, s: Service, y: int) -> list[dict]:
    ecs_dimensions = ["ClusterName", "${Cluster}", "ServiceName", service.resource_name(config, s)]
    return [
        metric_widget(f"{s.name}: requests", target_group_metrics("RequestCount", s, "Sum"), 0, y, 4),
        metric_widget(f"{s.name}: 5XX", target_group_metrics("HTTPCode_Target_5XX_Count", s, "Sum"), 4, y, 4),
        metric_widget(
            f"{s.name}: latency p50 / p99",
            target_group_metrics("TargetResponseTime", s, "p50") + target_group_metrics("TargetResponseTime", s, "p99"),
            8,
            y,
            4,
            "p99",
        ),
        metric_widget(
            f"{s.name}: CPU / memory %",
            [
                ["AWS/ECS", "CPUUtilization", *ecs_dimensions, {"stat": "Average"}],
                ["AWS/ECS", "MemoryUtilization", *ecs_dimensions, {"stat": "Average"}],
            ],
            12,
            y,
            4,
            "Average",
        ),
        metric_widget(
            f"{s.name}: running tasks", [["AWS/ECS", "CPUUtilization", *ecs_dimensions, {"stat": "SampleCount"}]], 16, y, 4, "SampleCount"
        ),
        metric_widget(
            f"{s.name}: canary",
            [[canary_namespace(config), "HealthCheckSuccess", "Service", s.name, {"stat": "Minimum"}]],
            20,
            y,
            4,
            "Minimum",
        ),
    ]


def dashboard_body(config: Config) -> str:
    totals = [
        metric_widget("ALB requests", [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "${LoadBalancer}"]], 0, 0, 8),
        metric_widget(
            "ALB errors",
            [
                ["AWS/ApplicationELB", name, "LoadBalancer", "${LoadBalancer}"]
                for name in ("HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count")
            ],
            8,
            0,
            8,
        ),
        metric_widget(
            "ALB latency p99", [["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "${LoadBalancer}"]], 16, 0, 8, "p99"
        ),
    ]
    rows = [widget for index, s in enumerate(config.project.services) for widget in service_row(config, s, 6 * (index + 1))]
    return json.dumps({"widgets": totals + rows}, sort_keys=True)


def add_dashboard(template: Template, config: Config, params) -> cloudwatch.Dashboard:
    variables = {"LoadBalancer": Ref(params[names.LOAD_BALANCER_FULL_NAME]), "Cluster": Ref(params[names.CLUSTER_NAME])}
    for s in config.project.services:
        for what in ("BlueTargetGroup", "GreenTargetGroup"):
            variables[service_parameter(s, what)] = Ref(params[service_parameter(s, what)])
    return template.add_resource(
        cloudwatch.Dashboard("Dashboard", DashboardName=config.stack_prefix, DashboardBody=Sub(dashboard_body(config), **variables))
    )


# --- logs -----------------------------------------------------------------------

QUERIES = {
    "errors": 'fields @timestamp, @log, level, message, request_id\n| filter level = "ERROR"\n| sort @timestamp desc\n| limit 200',
    "slowest-requests": "fields @timestamp, @log, method, path, status, duration_ms, request_id\n| filter ispresent(duration_ms)\n"
    "| sort duration_ms desc\n| limit 50",
    "one-request": 'fields @timestamp, @log, level, message, method, path, status\n| filter request_id = "PASTE-THE-X-REQUEST-ID"\n'
    "| sort @timestamp asc",
}


def service_log_groups(config: Config, params) -> list[Ref]:
    """The services' log groups, by the names their stacks output (generated per stack instance)."""
    return [Ref(params[service_parameter(s, "LogGroupName")]) for s in config.project.services]


def add_queries(template: Template, config: Config, params) -> None:
    for name, query in QUERIES.items():
        template.add_resource(
            logs.QueryDefinition(
                camel_case(name) + "Query",
                Name=f"{config.stack_prefix}/{name}",
                QueryString=query,
                LogGroupNames=service_log_groups(config, params),
            )
        )


def add_archive(template: Template, config: Config, params) -> None:
    """Every service's logs, streamed through Firehose to an S3 bucket kept for archive_expiry_days."""
    key = Ref(params[names.ENVIRONMENT_KEY_ARN])
    bucket = secure_bucket(template, "LogArchiveBucket", config, config.environment.logs.archive_expiry_days, kms_key_arn=key)
    bucket_arn = GetAtt(bucket, "Arn")
    archive_actions = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    writer = role(
        template,
        "ArchiveDeliveryRole",
        "firehose",
        "write-archive",
        policies.allow(archive_actions, [bucket_arn, Sub("${Arn}/*", Arn=bucket_arn)]),
        policies.allow(["kms:GenerateDataKey", "kms:Decrypt"], [key]),
    )
    stream = template.add_resource(
        firehose.DeliveryStream(
            "LogArchiveStream",
            DeliveryStreamType="DirectPut",
            DeliveryStreamEncryptionConfigurationInput=firehose.DeliveryStreamEncryptionConfigurationInput(
                KeyType="CUSTOMER_MANAGED_CMK", KeyARN=key
            ),
            ExtendedS3DestinationConfiguration=firehose.ExtendedS3DestinationConfiguration(
                BucketARN=bucket_arn,
                RoleARN=GetAtt(writer, "Arn"),
                Prefix="logs/",
                ErrorOutputPrefix="errors/",
                # CloudWatch Logs already delivers gzip-compressed batches.
                CompressionFormat="UNCOMPRESSED",
                BufferingHints=firehose.BufferingHints(IntervalInSeconds=300, SizeInMBs=5),
                EncryptionConfiguration=firehose.EncryptionConfiguration(
                    KMSEncryptionConfig=firehose.KMSEncryptionConfig(AWSKMSKeyARN=key)
                ),
            ),
        )
    )
    sender = role(
        template,
        "ArchiveSubscriptionRole",
        "logs",
        "send-to-archive",
        policies.allow(["firehose:PutRecord", "firehose:PutRecordBatch"], [GetAtt(stream, "Arn")]),
    )
    for s in config.project.services:
        template.add_resource(
            logs.SubscriptionFilter(
                f"{s.logical_name}ArchiveSubscription",
                LogGroupName=Ref(params[service_parameter(s, "LogGroupName")]),
                FilterPattern="",
                DestinationArn=GetAtt(stream, "Arn"),
                RoleArn=GetAtt(sender, "Arn"),
            )
        )


def build(config: Config) -> Template:
    template = new_template(f"{config.stack_prefix}: composite alarm, canary, deployment events, dashboard, log queries")
    params = add_parameters(template, config)
    if has_off_hours(config):
        add_off_hours_alarm(template, config)
    add_composite_alarm(template, config, params)
    add_canary_schedule(template, config, params)
    add_canary_alarm(template, config, params)
    add_deployment_events(template, config, params)
    add_dashboard(template, config, params)
    add_queries(template, config, params)
    if config.environment.logs.archive:
        add_archive(template, config, params)
    return template
