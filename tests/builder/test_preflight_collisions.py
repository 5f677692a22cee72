"""Targets in one account: no explicit name twice, no metric series watched by two targets' alarms."""

from __future__ import annotations

from builder.preflight import collisions
from tests.builder.preflight_fixtures import rules_of, target


def function(name) -> dict:
    return {"F": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": name}}}


def alarm(dimension_value) -> dict:
    properties = {
        "Namespace": "HealthCheck",
        "MetricName": "HealthCheckSuccess",
        "Dimensions": [{"Name": "Service", "Value": dimension_value}],
    }
    return {"A": {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}}


def pair(staging: dict, production: dict):
    return [target(staging), target(production, name="production", stack_name="shop-production")]


def test_names_derived_from_the_stack_name_do_not_collide():
    name = {"Fn::Sub": "${AWS::StackName}-canary"}
    report = collisions.check(pair(function(name), function(name)))
    assert report.findings == [] and report.checks[collisions.RULE_NAME] == 2


def test_the_same_explicit_name_in_two_targets_is_a_finding():
    report = collisions.check(pair(function("shop-canary"), function("shop-canary")))
    assert rules_of(report) == [collisions.RULE_NAME]
    assert str(report.findings[0]) == (
        "production: root.json: F: collision-name: AWS::Lambda::Function name 'shop-canary' "
        "(limit: unique across targets; also staging/root.json/F)"
    )


def test_alarms_on_series_with_the_stack_in_a_dimension_do_not_collide():
    series = {"Fn::Sub": "${AWS::StackName}/api"}
    assert collisions.check(pair(alarm(series), alarm(series))).findings == []


def test_two_targets_alarming_on_one_metric_series_is_a_finding():
    report = collisions.check(pair(alarm("api-service"), alarm("api-service")))
    assert rules_of(report) == [collisions.RULE_METRIC]
    assert report.findings[0].target == "production"
