"""Invariants of what operators are told, on every environment under test (see tests/test_invariants.py): the
composite alarm names the services' alarms that exist and an off-hours window quiets exactly it, the canary
checks every public health URL on the file's schedule and alarms as the file says, failed deployments reach
the topic, the health-check functions may do what their code calls, the dashboard tiles its grid.
"""

from __future__ import annotations

import json
import re

from templates import names
from tests.templates.helpers import every, only, output_target, resources_of_type, target_of, unread_ids

MONITORING = names.template_file("monitoring")
HEALTH_CHECK = names.template_file("health-check")
# The service alarms whose state says "unhealthy" (docs/architecture.md, MonitoringStack).
UNHEALTHY = ("healthyhosts", "runningtasks", "target5xx")
# What lambda/health_check calls: the hook (finds green tasks, reads the service), the canary (publishes, reports a job).
HOOK_CALLS = {"elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetHealth", "ecs:DescribeServices"}
CANARY_CALLS = {"cloudwatch:PutMetricData", "codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"}
# A function in a VPC manages its own network interfaces (what AWSLambdaVPCAccessExecutionRole grants).
VPC_ACCESS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}
WRITE_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
DASHBOARD_COLUMNS = 24  # CloudWatch's grid
ARCHIVE_WRITES = {"s3:PutObject", "s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"}


def alarms_by_name(template: dict) -> dict[str, tuple[str, dict]]:
    return {a["Properties"]["AlarmName"]: (i, a["Properties"]) for i, a in resources_of_type(template, "AWS::CloudWatch::Alarm").items()}


def canary_alarm(template: dict) -> tuple[str, dict]:
    """The alarm on the canary's HealthCheckSuccess metrics."""
    (found,) = [
        (logical_id, alarm)
        for logical_id, alarm in alarms_by_name(template).values()
        if {q["MetricStat"]["Metric"]["MetricName"] for q in alarm.get("Metrics", []) if "MetricStat" in q} == {"HealthCheckSuccess"}
    ]
    return found


def test_the_composite_alarm_watches_every_services_unhealthy_alarms(configured_environment):
    cfg = configured_environment.config
    deployed = configured_environment.deployed
    template = deployed[MONITORING]
    logical_id, composite = only(template, "AWS::CloudWatch::CompositeAlarm", MONITORING)
    where = f"{MONITORING}: {logical_id}"
    watched = re.findall(r'ALARM\("([^"]+)"\)', composite["AlarmRule"])
    assert composite["AlarmRule"] == " OR ".join(f'ALARM("{name}")' for name in watched), where
    existing = {a["Properties"]["AlarmName"] for _, _, a in every(deployed, "AWS::CloudWatch::Alarm")}
    assert set(watched) <= existing, f"{where}: names an alarm that does not exist"
    expected = [f"{cfg.stack_prefix}-{s.name}-{kind}" for s in cfg.project.services for kind in UNHEALTHY]
    off_hours = cfg.environment.services.scaling.off_hours
    if off_hours.stop:  # the canary fails by design in the window: it notifies through the composite, quieted too
        expected.append(canary_alarm(template)[1]["AlarmName"])
    assert watched == expected, where
    topic = [{"Ref": names.ALERT_TOPIC_ARN}]
    assert composite["AlarmActions"] == topic and composite["OKActions"] == topic, where


def test_an_off_hours_window_quiets_the_composite_alarm_exactly_while_it_lasts(configured_environment):
    off_hours = configured_environment.config.environment.services.scaling.off_hours
    template = configured_environment.rendered[MONITORING]
    logical_id, composite = only(template, "AWS::CloudWatch::CompositeAlarm", MONITORING)
    where = f"{MONITORING}: {logical_id}"
    schedules = resources_of_type(template, "AWS::Scheduler::Schedule")
    if not off_hours.stop:
        assert "ActionsSuppressor" not in composite and not schedules, where
        return
    suppressor_id, suppressor = alarms_by_name(template)[composite["ActionsSuppressor"]]
    assert composite["ActionsSuppressorWaitPeriod"] > 0 and composite["ActionsSuppressorExtensionPeriod"] > 0, where
    # Nothing publishes its metric: it keeps the state the schedules set, and tells no one itself.
    assert suppressor["TreatMissingData"] == "ignore" and "AlarmActions" not in suppressor, f"{MONITORING}: {suppressor_id}"
    states = {}
    for schedule_id, schedule in schedules.items():
        properties, schedule_where = schedule["Properties"], f"{MONITORING}: {schedule_id}"
        assert properties["State"] == "ENABLED" and properties["ScheduleExpressionTimezone"] == off_hours.timezone, schedule_where
        assert properties["FlexibleTimeWindow"] == {"Mode": "OFF"}, schedule_where
        given = json.loads(properties["Target"]["Input"])
        assert given["AlarmName"] == composite["ActionsSuppressor"], schedule_where
        role = template["Resources"][target_of(properties["Target"]["RoleArn"])]["Properties"]
        (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
        suppressor_name = composite["ActionsSuppressor"]
        sets_it = statement["Action"] == ["cloudwatch:SetAlarmState"] and suppressor_name in json.dumps(statement["Resource"])
        assert sets_it, f"{schedule_where}: may set the suppressor's state, and only that"
        states[properties["ScheduleExpression"]] = given["StateValue"]
    assert states == {off_hours.stop: "ALARM", off_hours.start: "OK"}, f"{MONITORING}: the window sets the suppressor's state"


def test_every_alarm_is_complete_and_returns_one_series(configured_environment):
    """What CloudWatch needs of an alarm (PutMetricAlarm): a comparison, periods, a threshold, and either one metric
    or queries of which exactly one returns data (ReturnData is true when left out)."""
    alarms = list(every(configured_environment.deployed, "AWS::CloudWatch::Alarm"))
    assert alarms
    for where, _, alarm in alarms:
        properties = alarm["Properties"]
        assert {"AlarmName", "ComparisonOperator", "EvaluationPeriods", "Threshold"} <= set(properties), where
        assert 1 <= properties.get("DatapointsToAlarm", properties["EvaluationPeriods"]) <= properties["EvaluationPeriods"], where
        if "Metrics" in properties:
            assert not {"MetricName", "Namespace", "Statistic", "Period"} & set(properties), where
            assert [q.get("ReturnData", True) for q in properties["Metrics"]].count(True) == 1, f"{where}: one series returned"
            assert not unread_ids(properties["Metrics"]), f"{where}: reads {sorted(unread_ids(properties['Metrics']))}"
            for query in properties["Metrics"]:
                assert ("MetricStat" in query) != ("Expression" in query), f"{where}: {query['Id']}"
                assert valid_period(query.get("MetricStat", {}).get("Period", 60)), f"{where}: {query['Id']}"
        else:
            assert {"MetricName", "Namespace", "Statistic", "Period"} <= set(properties), where
            assert valid_period(properties["Period"]), f"{where}: Period {properties['Period']}"


def valid_period(seconds) -> bool:
    """PutMetricAlarm: "Valid values are 10, 20, 30, 60, and any multiple of 60" (the registry schema's Period)."""
    return not isinstance(seconds, int) or seconds in (10, 20, 30) or (seconds > 0 and seconds % 60 == 0)


def test_the_topic_notifies_every_subscriber_of_the_file(configured_target):
    settings = configured_target.config.pipeline if configured_target.is_pipeline else configured_target.config.environment
    subscribed = [
        (where, s["Properties"]) for where, _, s in every(configured_target.rendered, "AWS::SNS::Subscription")
    ]
    given = settings.notifications.subscriptions
    assert len(subscribed) == len(given), "one subscription per entry of notifications.subscriptions"
    for (where, properties), subscription in zip(subscribed, given, strict=True):
        assert properties["Protocol"] == subscription.protocol, where
        endpoint = properties["Endpoint"]
        if subscription.protocol in ("email", "https") or subscription.endpoint.startswith("arn:"):
            assert endpoint == subscription.endpoint, where
        else:  # a bare queue or function name, in this account and region
            assert endpoint["Fn::Sub"].endswith(subscription.endpoint) and "${AWS::AccountId}" in endpoint["Fn::Sub"], where
        template = configured_target.rendered[where.split(": ")[0]]
        assert template["Resources"][target_of(properties["TopicArn"])]["Type"] == "AWS::SNS::Topic", where


# --- the canary ---------------------------------------------------------------------------------


def public_base(config) -> str:
    settings = config.environment.load_balancer
    return ("https" if settings.certificate_arn else "http") + "://" + (settings.domain_name or "${Dns}")


def test_the_canary_checks_every_public_health_url_on_the_files_schedule(configured_environment):
    cfg = configured_environment.config
    rendered = configured_environment.rendered
    health_check = rendered[HEALTH_CHECK]
    canary_id = output_target(health_check, names.CANARY_FUNCTION_ARN)
    variables = health_check["Resources"][canary_id]["Properties"]["Environment"]["Variables"]
    endpoints = variables["CANARY_ENDPOINTS"]
    text = endpoints if isinstance(endpoints, str) else endpoints["Fn::Sub"][0]
    expected = [{"service": s.name, "url": f"{public_base(cfg)}{s.route_path}{s.health_check_path}"} for s in cfg.project.services]
    assert json.loads(text) == {"endpoints": expected}, f"{HEALTH_CHECK}: {canary_id}"
    if not isinstance(endpoints, str):
        assert endpoints["Fn::Sub"][1] == {"Dns": {"Ref": names.LOAD_BALANCER_DNS_NAME}}, f"{HEALTH_CHECK}: {canary_id}"
    monitoring = rendered[MONITORING]
    rules = resources_of_type(monitoring, "AWS::Events::Rule")
    ((rule_id, rule),) = [(i, r["Properties"]) for i, r in rules.items() if "ScheduleExpression" in r["Properties"]]
    where = f"{MONITORING}: {rule_id}"
    assert rule["ScheduleExpression"] == cfg.environment.canary.schedule and rule["State"] == "ENABLED", where
    assert [t["Arn"] for t in rule["Targets"]] == [{"Ref": names.CANARY_FUNCTION_ARN}], where
    (permission,) = resources_of_type(monitoring, "AWS::Lambda::Permission").values()
    assert permission["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": names.CANARY_FUNCTION_ARN},
        "Principal": "events.amazonaws.com",
        "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
    }, f"{where}: only this rule may invoke the canary"


def test_the_canary_alarm_reads_what_the_canary_publishes_and_follows_the_file(configured_environment):
    cfg = configured_environment.config
    spec = cfg.environment.alarms.canary
    health_check = configured_environment.rendered[HEALTH_CHECK]
    canary = health_check["Resources"][output_target(health_check, names.CANARY_FUNCTION_ARN)]["Properties"]
    namespace = canary["Environment"]["Variables"]["METRICS_NAMESPACE"]
    logical_id, alarm = canary_alarm(configured_environment.rendered[MONITORING])
    where = f"{MONITORING}: {logical_id}"
    stats = [q["MetricStat"] for q in alarm["Metrics"] if "MetricStat" in q]
    assert [(s["Metric"]["Namespace"], s["Metric"]["Dimensions"]) for s in stats] == [
        (namespace, [{"Name": "Service", "Value": s.name}]) for s in cfg.project.services
    ], where
    assert {(s["Stat"], s["Period"]) for s in stats} == {("Minimum", spec.period_seconds)}, where
    (worst,) = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    assert worst["Expression"] == f"MIN([{', '.join(q['Id'] for q in alarm['Metrics'] if 'MetricStat' in q)}])", where
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == spec.threshold, where
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (spec.evaluation_periods, spec.datapoints_to_alarm), where
    assert alarm["TreatMissingData"] == spec.treat_missing_data, where
    direct = not cfg.environment.services.scaling.off_hours.stop
    topic = [{"Ref": names.ALERT_TOPIC_ARN}]
    assert (alarm.get("AlarmActions"), alarm.get("OKActions")) == ((topic, topic) if direct else (None, None)), where


def test_failed_and_rolled_back_deployments_reach_the_topic(configured_environment):
    cfg = configured_environment.config
    template = configured_environment.rendered[MONITORING]
    rules = resources_of_type(template, "AWS::Events::Rule")
    ((logical_id, rule),) = [(i, r["Properties"]) for i, r in rules.items() if "EventPattern" in r["Properties"]]
    where = f"{MONITORING}: {logical_id}"
    pattern = rule["EventPattern"]
    assert rule["State"] == "ENABLED" and [t["Arn"] for t in rule["Targets"]] == [{"Ref": names.ALERT_TOPIC_ARN}], where
    assert pattern["source"] == ["aws.ecs"] and pattern["detail-type"] == ["ECS Deployment State Change"], where
    services = f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:service/{cfg.stack_prefix}/"
    assert pattern["resources"] == [{"prefix": {"Fn::Sub": services}}], f"{where}: this environment's services"
    events = [(alternative["detail"]["eventName"], alternative["detail"].get("reason")) for alternative in pattern["$or"]]
    assert (["SERVICE_DEPLOYMENT_FAILED"], None) in events, where
    assert (["SERVICE_DEPLOYMENT_IN_PROGRESS"], [{"wildcard": "*roll*back*"}]) in events, where
    (target,) = rule["Targets"]
    transformer = target["InputTransformer"]
    placeholders = set(re.findall(r"<([A-Za-z0-9_.-]+)>", transformer["InputTemplate"]))
    assert placeholders == set(transformer["InputPathsMap"]) == {"service", "event", "reason"}, f"{where}: the message names all three"
    message = re.sub(r"<[A-Za-z0-9_.-]+>", "x", transformer["InputTemplate"])
    assert isinstance(json.loads(message), str), f"{where}: the topic gets a JSON string"


# --- the health-check functions ------------------------------------------------------------------


def allowed(template: dict, function: dict) -> list[dict]:
    role = template["Resources"][target_of(function["Role"])]["Properties"]
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]


def test_each_health_check_function_may_call_what_its_code_calls(configured_environment):
    cfg = configured_environment.config
    template = configured_environment.rendered[HEALTH_CHECK]
    hook_id, canary_id = output_target(template, names.HOOK_FUNCTION_ARN), output_target(template, names.CANARY_FUNCTION_ARN)
    for logical_id, calls in ((hook_id, HOOK_CALLS | VPC_ACCESS), (canary_id, CANARY_CALLS)):
        function = template["Resources"][logical_id]["Properties"]
        where = f"{HEALTH_CHECK}: {logical_id}"
        statements = allowed(template, function)
        actions = {a for s in statements for a in s["Action"]}
        assert actions >= calls | WRITE_LOGS | {"kms:Decrypt"}, f"{where}: missing {sorted(calls | WRITE_LOGS - actions)}"
        assert not {a for a in actions if a.startswith("ec2:")} - VPC_ACCESS, where
        if logical_id == canary_id:
            assert not actions & (HOOK_CALLS | VPC_ACCESS), f"{where}: the canary needs neither the hook's calls nor a VPC"
        group = target_of(function["LoggingConfig"]["LogGroup"])
        assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup", where
        writes = [s for s in statements if WRITE_LOGS <= set(s["Action"])]
        assert [json.dumps(s["Resource"]).count(json.dumps({"Ref": group})) for s in writes] == [1], f"{where}: writes its own log group"
    hook_statements = allowed(template, template["Resources"][hook_id]["Properties"])
    (describe,) = [s for s in hook_statements if "ecs:DescribeServices" in s["Action"]]
    service_arns = f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:service/{cfg.stack_prefix}/*"
    assert describe["Resource"] == [{"Fn::Sub": service_arns}], f"{HEALTH_CHECK}: {hook_id}: this environment's services only"
    canary = template["Resources"][canary_id]["Properties"]
    (publish,) = [s for s in allowed(template, canary) if "cloudwatch:PutMetricData" in s["Action"]]
    namespace = canary["Environment"]["Variables"]["METRICS_NAMESPACE"]
    assert publish["Condition"] == {"StringEquals": {"cloudwatch:namespace": namespace}}, f"{HEALTH_CHECK}: {canary_id}"


# --- the dashboard and the saved queries ------------------------------------------------------------


# The dimension combinations a metric is published under: a widget naming any other shows no data.
# ECS: "Amazon ECS CloudWatch metrics" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html);
# ALB: "CloudWatch metrics for your Application Load Balancer"
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html).
DIMENSION_SETS = {
    "AWS/ECS": {frozenset({"ClusterName"}), frozenset({"ClusterName", "ServiceName"})},
    "AWS/ApplicationELB": {frozenset({"LoadBalancer"}), frozenset({"LoadBalancer", "TargetGroup"})},
}


def test_the_dashboard_tiles_its_grid_with_a_row_per_service(configured_environment):
    cfg = configured_environment.config
    template = configured_environment.rendered[MONITORING]
    logical_id, dashboard = only(template, "AWS::CloudWatch::Dashboard", MONITORING)
    where = f"{MONITORING}: {logical_id}"
    body, variables = dashboard["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    statistics = re.compile(r"Sum|Average|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d+)?")
    canary = names.canary_metrics_namespace(cfg.project.name, cfg.target)
    for widget in widgets:
        title, properties = widget["properties"]["title"], widget["properties"]
        assert widget["type"] == "metric" and properties["view"] == "timeSeries", f"{where}: {title}"
        assert properties["region"] == "${AWS::Region}" and properties["period"] > 0, f"{where}: {title}"
        assert properties["metrics"] and statistics.fullmatch(properties["stat"]), f"{where}: {title}"
        for metric in properties["metrics"]:
            options = metric[-1] if isinstance(metric[-1], dict) else {}
            assert statistics.fullmatch(options.get("stat", properties["stat"])), f"{where}: {title}"
            namespace, dimensions = metric[0], frozenset(metric[2 : len(metric) - bool(options) : 2])
            published = {**DIMENSION_SETS, canary: {frozenset({"Service"})}}  # what the canary publishes, by service
            assert dimensions in published[namespace], f"{where}: {title}: {metric[1]} by {sorted(dimensions)}"
    cells = set()
    for widget in widgets:
        x, y, width, height = widget["x"], widget["y"], widget["width"], widget["height"]
        assert width > 0 and height > 0 and 0 <= x and x + width <= DASHBOARD_COLUMNS, f"{where}: {widget['properties']['title']}"
        covered = {(column, row) for column in range(x, x + width) for row in range(y, y + height)}
        assert not covered & cells, f"{where}: {widget['properties']['title']} overlaps another widget"
        cells |= covered
    rows = {}
    for widget in widgets:
        rows.setdefault(widget["y"], []).append(widget)
    for row in rows.values():  # every row is full
        assert sum(w["width"] for w in row) == DASHBOARD_COLUMNS, where
    titled = {s.name: [w for w in widgets if w["properties"]["title"].startswith(f"{s.name}: ")] for s in cfg.project.services}
    assert all(len({w["y"] for w in row}) == 1 for row in titled.values()), f"{where}: a row per service"
    assert len({row[0]["y"] for row in titled.values()}) == len(cfg.project.services), where
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", body))
    assert placeholders == set(variables), f"{where}: every placeholder filled, every variable used"
    colours = ("BlueTargetGroup", "GreenTargetGroup")
    groups = [names.service_output(s.logical_name, colour) for s in cfg.project.services for colour in colours]
    expected = {"LoadBalancer": names.LOAD_BALANCER_FULL_NAME, "Cluster": names.CLUSTER_NAME, **{g: g for g in groups}}
    assert variables == {k: {"Ref": v} for k, v in expected.items()}, where


def test_the_saved_queries_and_the_archive_read_every_services_log_group(configured_environment):
    cfg = configured_environment.config
    template = configured_environment.rendered[MONITORING]
    log_groups = [{"Ref": names.service_output(s.logical_name, "LogGroupName")} for s in cfg.project.services]
    queries = resources_of_type(template, "AWS::Logs::QueryDefinition")
    assert queries, MONITORING
    for logical_id, query in queries.items():
        assert query["Properties"]["LogGroupNames"] == log_groups, f"{MONITORING}: {logical_id}"
        assert query["Properties"]["Name"].startswith(f"{cfg.stack_prefix}/"), f"{MONITORING}: {logical_id}"
    subscriptions = resources_of_type(template, "AWS::Logs::SubscriptionFilter")
    streams = resources_of_type(template, "AWS::KinesisFirehose::DeliveryStream")
    if not cfg.environment.logs.archive:
        assert not subscriptions and not streams, MONITORING
        return
    (stream,) = streams
    assert [s["Properties"]["LogGroupName"] for s in subscriptions.values()] == log_groups, MONITORING
    writer = template["Resources"][target_of(template["Resources"][stream]["Properties"]["ExtendedS3DestinationConfiguration"]["RoleARN"])]
    statements = writer["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    granted = {a for st in statements for a in st["Action"]}
    # What Firehose needs of an S3 destination and its key (Firehose Developer Guide, "Grant Firehose access to an S3 destination").
    assert granted >= ARCHIVE_WRITES | {"kms:GenerateDataKey", "kms:Decrypt"}, f"{MONITORING}: {stream}: {sorted(ARCHIVE_WRITES - granted)}"
    for logical_id, subscription in subscriptions.items():
        properties = subscription["Properties"]
        everything = properties["DestinationArn"] == {"Fn::GetAtt": [stream, "Arn"]} and properties["FilterPattern"] == ""
        assert everything, f"{MONITORING}: {logical_id}"
        role = template["Resources"][target_of(properties["RoleArn"])]["Properties"]
        (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
        assert statement["Resource"] == [{"Fn::GetAtt": [stream, "Arn"]}], f"{MONITORING}: {logical_id}: sends to the archive only"
        # What a writer to a Firehose stream calls (Firehose Developer Guide, "Controlling access").
        assert set(statement["Action"]) == {"firehose:PutRecord", "firehose:PutRecordBatch"}, f"{MONITORING}: {logical_id}"
