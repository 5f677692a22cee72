"""Notifications, alarms beyond the services', dashboard, saved queries and the log archive."""

from __future__ import annotations

import json
import re

import pytest

from templates import config as config_module
from templates import names
from templates.render import render
from templates.stacks import alerts, monitoring, service
from tests.conftest import SAMPLE, TARGETS, render_target
from tests.templates.helpers import as_deployed, props, resources_of_type, service_stacks

RENDERED = {target: render_target(target) for target in TARGETS}
DEPLOYED = {target: as_deployed(RENDERED[target]) for target in TARGETS}
ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")


def topic_reference(template: dict) -> dict:
    return {"Ref": names.ALERT_TOPIC_ARN}


@pytest.mark.parametrize("target", TARGETS)
def test_every_alarm_of_the_environment_notifies_the_topic(target):
    """Directly, or through the composite alarm that watches it (the off-hours window quiets only that one)."""
    cfg = config_module.load(SAMPLE, target)
    composite = props(RENDERED[target]["monitoring.json"], "AnyServiceUnhealthyAlarm")
    assert composite["AlarmActions"] == [topic_reference(RENDERED[target]["monitoring.json"])]
    count = 0
    for name, template in DEPLOYED[target].items():
        for alarm_type in ALARM_TYPES:
            for logical_id, alarm in resources_of_type(template, alarm_type).items():
                if logical_id == "OffHoursAlarm":
                    continue  # a switch the schedules flip, not a finding
                actions = alarm["Properties"].get("AlarmActions")
                if actions is None:
                    assert f'ALARM("{alarm["Properties"]["AlarmName"]}")' in composite["AlarmRule"], f"{name}: {logical_id}"
                else:
                    assert actions == [topic_reference(template)], f"{name}: {logical_id}"
                    assert template["Parameters"][names.ALERT_TOPIC_ARN]
                count += 1
    assert count == 5 * len(cfg.project.services) + 2  # five per service, the composite and the canary


@pytest.mark.parametrize("target", TARGETS)
def test_the_topic_parameter_comes_from_the_alerts_stack(target):
    root = RENDERED[target][names.ROOT_TEMPLATE]
    for title, stack in resources_of_type(root, "AWS::CloudFormation::Stack").items():
        passed = stack["Properties"].get("Parameters", {})
        if names.ALERT_TOPIC_ARN in passed:
            assert passed[names.ALERT_TOPIC_ARN] == {"Fn::GetAtt": ["AlertsStack", f"Outputs.{names.ALERT_TOPIC_ARN}"]}, title


def test_subscriptions_follow_the_parameter_file(make_config):
    subscriptions = [
        {"protocol": "email", "endpoint": "a@example.com"},
        {"protocol": "https", "endpoint": "https://hooks.example.com/x"},
        {"protocol": "sqs", "endpoint": "alerts-queue"},
        {"protocol": "lambda", "endpoint": "arn:aws:lambda:eu-west-1:123456789012:function:pager"},
    ]
    template = alerts.build(make_config(environment={"notifications": {"subscriptions": subscriptions}})).to_dict()
    created = [props(template, f"AlertTopicSubscription{i + 1}") for i in range(4)]
    assert [(c["Protocol"], c["Endpoint"]) for c in created] == [
        ("email", "a@example.com"),
        ("https", "https://hooks.example.com/x"),
        ("sqs", {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:alerts-queue"}),
        ("lambda", "arn:aws:lambda:eu-west-1:123456789012:function:pager"),
    ]
    assert props(template, "AlertTopic")["KmsMasterKeyId"] == {"Ref": names.ENVIRONMENT_KEY_ARN}


def test_changing_an_email_changes_exactly_that_subscription(make_config):
    def with_email(email: str) -> dict:
        subscriptions = [{"protocol": "email", "endpoint": email}, {"protocol": "email", "endpoint": "keep@example.com"}]
        return render(make_config(environment={"notifications": {"subscriptions": subscriptions}}))

    before, after = with_email("old@example.com"), with_email("new@example.com")
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"alerts.json"}
    old, new = before["alerts.json"]["Resources"], after["alerts.json"]["Resources"]
    assert {k for k in old if old[k] != new[k]} == {"AlertTopicSubscription1"}
    assert new["AlertTopicSubscription1"]["Properties"]["Endpoint"] == "new@example.com"


def test_changing_a_threshold_changes_exactly_that_in_the_rendered_target(make_config):
    before = render(make_config())
    after = render(make_config(environment={"alarms": {"latency_p99": {"threshold": 0.75}}}))
    changed = [name for name in before if before[name] != after[name]]
    assert changed == ["service.json"]
    for name in changed:
        old, new = before[name]["Resources"], after[name]["Resources"]
        assert {k for k in old if old[k] != new[k]} == {"LatencyP99Alarm"}
        assert new["LatencyP99Alarm"]["Properties"]["Threshold"] == 0.75


def test_the_topic_lets_only_cloudwatch_eventbridge_and_pipeline_notifications_publish(make_config):
    template = alerts.build(make_config()).to_dict()
    (statement,) = props(template, "AlertTopicPolicy")["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {
        "Service": ["cloudwatch.amazonaws.com", "codestar-notifications.amazonaws.com", "events.amazonaws.com"]
    }
    assert statement["Action"] == ["sns:Publish"] and statement["Condition"]["StringEquals"]["aws:SourceAccount"]


@pytest.mark.parametrize(
    "protocol, endpoint",
    [
        ("email", "not-an-address"),
        ("https", "http://plain.example.com"),
        ("sqs", "arn:aws:sns:eu-west-1:123456789012:x"),
        ("lambda", "my function"),
        ("sms", "+441234567890"),
    ],
)
def test_invalid_subscriptions_are_rejected_with_a_clear_line(write_parameters, protocol, endpoint):
    directory = write_parameters(environment={"notifications": {"subscriptions": [{"protocol": protocol, "endpoint": endpoint}]}})
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.load(directory, "staging")
    (line,) = raised.value.problems
    key = "protocol" if protocol == "sms" else "endpoint"
    assert re.search(rf"staging\.yaml: notifications\.subscriptions\[0\]\.{key}: ", line), line
    assert "expected" in line


def test_composite_alarm_goes_off_when_any_service_is_unhealthy():
    cfg = config_module.load(SAMPLE, "staging")
    rule = props(RENDERED["staging"]["monitoring.json"], "AnyServiceUnhealthyAlarm")["AlarmRule"]
    service_alarms = {
        props(t, title)["AlarmName"]
        for name, t in DEPLOYED["staging"].items()
        if name.startswith("service:")
        for title in ("HealthyHostsAlarm", "RunningTasksAlarm", "Target5xxAlarm")
    }
    assert set(re.findall(r'ALARM\("([^"]+)"\)', rule)) == service_alarms
    assert rule.count(" OR ") == 3 * len(cfg.project.services) - 1


def test_error_log_lines_are_counted_and_alarmed_per_service():
    cfg = config_module.load(SAMPLE, "production")
    for s in cfg.project.services:
        template = service_stacks(RENDERED["production"])[s.name]
        metric_filter = props(template, "ErrorLogMetricFilter")
        assert metric_filter["LogGroupName"] == {"Ref": "LogGroup"} and "ERROR" in metric_filter["FilterPattern"]
        transformation = metric_filter["MetricTransformations"][0]
        alarm = props(template, "ErrorLogsAlarm")
        assert (alarm["Namespace"], alarm["MetricName"]) == (transformation["MetricNamespace"], transformation["MetricName"])
        assert alarm["Threshold"] == cfg.environment.alarms.error_logs.threshold


def test_the_canary_runs_on_the_environments_schedule_with_an_alarm(make_config):
    cfg = make_config(
        environment={"canary": {"schedule": "rate(10 minutes)"}, "alarms": {"canary": {"threshold": 1, "period_seconds": 600}}}
    )
    template = monitoring.build(cfg).to_dict()
    assert props(template, "CanarySchedule")["ScheduleExpression"] == "rate(10 minutes)"
    assert props(template, "CanarySchedule")["Targets"][0]["Arn"] == {"Ref": names.CANARY_FUNCTION_ARN}
    assert props(template, "CanarySchedulePermission")["Principal"] == "events.amazonaws.com"
    alarm = props(template, "CanaryAlarm")
    dimensions = [m["MetricStat"]["Metric"]["Dimensions"][0]["Value"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert dimensions == [s.name for s in cfg.project.services]
    assert alarm["TreatMissingData"] == "breaching"


def test_a_canary_alarm_period_shorter_than_its_schedule_is_rejected(write_parameters):
    directory = write_parameters(
        environment={"canary": {"schedule": "rate(15 minutes)"}, "alarms": {"canary": {"threshold": 1, "period_seconds": 300}}}
    )
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.load(directory, "staging")
    assert "alarms.canary.period_seconds: 300 is shorter than the canary's schedule" in raised.value.problems[0]


def test_deployment_failures_and_rollbacks_go_to_the_topic():
    rule = props(RENDERED["staging"]["monitoring.json"], "DeploymentFailuresRule")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ecs"] and pattern["detail-type"] == ["ECS Deployment State Change"]
    names_matched = [branch["detail"]["eventName"] for branch in pattern["$or"]]
    assert names_matched == [["SERVICE_DEPLOYMENT_FAILED"], ["SERVICE_DEPLOYMENT_IN_PROGRESS"]]
    assert rule["Targets"][0]["Arn"] == {"Ref": names.ALERT_TOPIC_ARN}


@pytest.mark.parametrize("target", TARGETS)
def test_dashboard_widgets_name_metrics_of_resources_that_exist(target):
    rendered = RENDERED[target]
    cfg = config_module.load(SAMPLE, target)
    dashboard = props(rendered["monitoring.json"], "Dashboard")["DashboardBody"]["Fn::Sub"]
    body, variables = json.loads(dashboard[0]), dashboard[1]
    placeholders = set(re.findall(r"\$\{([^}]+)\}", dashboard[0])) - {"AWS::Region"}
    assert placeholders == set(variables)
    monitoring_params = rendered["monitoring.json"]["Parameters"]
    assert all(value["Ref"] in monitoring_params for value in variables.values())
    root_stack = rendered[names.ROOT_TEMPLATE]["Resources"]["MonitoringStack"]["Properties"]["Parameters"]
    for s in cfg.project.services:
        for colour in ("BlueTargetGroup", "GreenTargetGroup"):
            output = names.service_output(s.logical_name, colour)
            assert root_stack[output] == {"Fn::GetAtt": [service.stack_title(s), f"Outputs.{colour}"]}
            assert colour in service_stacks(rendered)[s.name]["Outputs"]
    ecs_services = {f"{cfg.stack_prefix}-{s.name}" for s in cfg.project.services}
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles[:3] == ["ALB requests", "ALB errors", "ALB latency p99"]
    for widget in body["widgets"]:
        for metric in widget["properties"]["metrics"]:
            if metric[0] == "AWS/ECS":
                assert metric[metric.index("ServiceName") + 1] in ecs_services
            if metric[0].endswith("/HealthCheck"):
                assert metric[0] == names.canary_metrics_namespace(cfg.project.name, target)
                assert metric[3] in {s.name for s in cfg.project.services}
    per_service = {"requests", "5XX", "latency p50 / p99", "CPU / memory %", "running tasks", "canary"}
    for s in cfg.project.services:
        assert {t.split(": ", 1)[1] for t in titles if t.startswith(f"{s.name}: ")} == per_service


def service_log_group_parameters(target: str) -> list[dict]:
    """The monitoring stack's references to the services' log groups, each checked to be wired to
    the log group its service stack creates (the names are generated per stack instance)."""
    rendered = RENDERED[target]
    cfg = config_module.load(SAMPLE, target)
    passed = rendered[names.ROOT_TEMPLATE]["Resources"]["MonitoringStack"]["Properties"]["Parameters"]
    references = []
    for s in cfg.project.services:
        output = names.service_output(s.logical_name, "LogGroupName")
        assert service_stacks(rendered)[s.name]["Outputs"]["LogGroupName"]["Value"] == {"Ref": "LogGroup"}
        assert passed[output] == {"Fn::GetAtt": [service.stack_title(s), "Outputs.LogGroupName"]}
        references.append({"Ref": output})
    return references


@pytest.mark.parametrize("target", TARGETS)
def test_saved_queries_read_log_groups_that_exist(target):
    queries = resources_of_type(RENDERED[target]["monitoring.json"], "AWS::Logs::QueryDefinition")
    assert len(queries) == 3
    for query in queries.values():
        assert query["Properties"]["LogGroupNames"] == service_log_group_parameters(target)


def test_the_archive_exists_only_where_the_environment_asks_for_it():
    assert "LogArchiveStream" in RENDERED["production"]["monitoring.json"]["Resources"]
    assert "LogArchiveStream" not in RENDERED["staging"]["monitoring.json"]["Resources"]
    production = RENDERED["production"]["monitoring.json"]
    subscriptions = resources_of_type(production, "AWS::Logs::SubscriptionFilter")
    assert [s["Properties"]["LogGroupName"] for s in subscriptions.values()] == service_log_group_parameters("production")
    bucket = props(production, "LogArchiveBucket")
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 2557


def test_each_lambda_subscription_lets_sns_invoke_its_function_for_this_topic_only(make_config):
    subscriptions = [
        {"protocol": "lambda", "endpoint": "arn:aws:lambda:eu-west-1:123456789012:function:pager"},
        {"protocol": "email", "endpoint": "a@example.com"},
        {"protocol": "lambda", "endpoint": "ticketing"},
        {"protocol": "sqs", "endpoint": "alerts-queue"},
    ]
    template = alerts.build(make_config(environment={"notifications": {"subscriptions": subscriptions}})).to_dict()
    permissions = resources_of_type(template, "AWS::Lambda::Permission")
    assert [p["Properties"] for p in permissions.values()] == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:pager",
            "Principal": "sns.amazonaws.com",
            "SourceArn": {"Ref": "AlertTopic"},
        },
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:ticketing"},
            "Principal": "sns.amazonaws.com",
            "SourceArn": {"Ref": "AlertTopic"},
        },
    ]


# --- a scheduled off-hours window -------------------------------------------------------------

OFF_HOURS = {"stop": "cron(0 20 ? * MON-FRI *)", "start": "cron(0 6 ? * MON-FRI *)", "timezone": "Europe/Paris"}


def test_the_off_hours_window_suppresses_the_task_and_canary_alarms_and_then_lets_them_fire(make_config):
    cfg = make_config(environment={"services": {"scaling": {"off_hours": OFF_HOURS}}})
    template = monitoring.build(cfg).to_dict()
    composite = props(template, "AnyServiceUnhealthyAlarm")
    switch = props(template, "OffHoursAlarm")
    assert composite["ActionsSuppressor"] == switch["AlarmName"] == f"{cfg.stack_prefix}-off-hours"
    # After the window, services get the extension to start; one still unhealthy then makes the composite notify.
    assert composite["ActionsSuppressorExtensionPeriod"] >= cfg.environment.services.health_check.grace_period_seconds + 300
    assert composite["ActionsSuppressorWaitPeriod"] > 0
    for s in cfg.project.services:
        for kind in ("healthyhosts", "runningtasks"):
            assert f'ALARM("{service.alarm_name(cfg, s, kind)}")' in composite["AlarmRule"]
    assert f'ALARM("{cfg.stack_prefix}-canary")' in composite["AlarmRule"]
    assert "AlarmActions" not in props(template, "CanaryAlarm")
    assert "AlarmActions" not in switch and switch["TreatMissingData"] == "ignore"  # keeps the state the schedules set
    schedules = [props(template, title) for title in ("OffHoursStartSchedule", "OffHoursEndSchedule")]
    assert [(s["ScheduleExpression"], s["ScheduleExpressionTimezone"]) for s in schedules] == [
        (OFF_HOURS["stop"], "Europe/Paris"),
        (OFF_HOURS["start"], "Europe/Paris"),
    ]
    states = [json.loads(s["Target"]["Input"]) for s in schedules]
    assert [(i["AlarmName"], i["StateValue"]) for i in states] == [(switch["AlarmName"], "ALARM"), (switch["AlarmName"], "OK")]
    assert all(s["Target"]["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:cloudwatch:setAlarmState"} for s in schedules)
    (grant,) = props(template, "OffHoursSchedulerRole")["Policies"][0]["PolicyDocument"]["Statement"]
    assert grant["Action"] == ["cloudwatch:SetAlarmState"]
    assert grant["Resource"] == [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{cfg.stack_prefix}-off-hours"}
    ]


def test_without_an_off_hours_window_nothing_is_suppressed(make_config):
    template = monitoring.build(make_config()).to_dict()
    assert "ActionsSuppressor" not in props(template, "AnyServiceUnhealthyAlarm")
    assert props(template, "CanaryAlarm")["AlarmActions"] == [{"Ref": names.ALERT_TOPIC_ARN}]
    assert not resources_of_type(template, "AWS::Scheduler::Schedule")


def test_each_environments_canary_alarm_reads_its_own_metrics():
    seen = {}
    for target in TARGETS:
        cfg = config_module.load(SAMPLE, target)
        queries = props(RENDERED[target]["monitoring.json"], "CanaryAlarm")["Metrics"]
        namespaces = {q["MetricStat"]["Metric"]["Namespace"] for q in queries if "MetricStat" in q}
        assert namespaces == {names.canary_metrics_namespace(cfg.project.name, target)}
        canary = props(RENDERED[target]["health-check.json"], "CanaryFunction")["Environment"]["Variables"]
        assert canary["METRICS_NAMESPACE"] in namespaces
        seen[target] = namespaces
    assert len({frozenset(n) for n in seen.values()}) == len(TARGETS)
