"""CloudFormation's template quotas with 60% headroom, on hand-made templates and on real projects of 3 to 30 services."""

from __future__ import annotations

import pytest

from builder.preflight import cloudformation
from builder.preflight.resolve import Target
from templates.render import render
from tests.builder.preflight_fixtures import rules_of, target
from tests.conftest import TARGETS, make_services


def topics(count: int) -> dict:
    return {f"Topic{i}": {"Type": "AWS::SNS::Topic"} for i in range(count)}


def test_300_resources_pass_and_301_are_a_finding():
    assert cloudformation.check(target(topics(300))).findings == []
    report = cloudformation.check(target(topics(301)))
    assert rules_of(report) == [cloudformation.RULE]
    assert str(report.findings[0]) == "staging: root.json: template: cloudformation-template-limit: 301 resources (limit: 300 (60% of 500))"


def test_parameters_outputs_and_size_are_checked():
    parameters = {f"P{i}": {"Type": "String"} for i in range(121)}
    outputs = {f"O{i}": {"Value": "x"} for i in range(121)}
    big = {"Topic": {"Type": "AWS::SNS::Topic", "Metadata": {"padding": "x" * 630_000}}}
    report = cloudformation.check(target(big, Parameters=parameters, Outputs=outputs))
    assert sorted(f.value.split()[1] for f in report.findings) == ["bytes", "outputs", "parameters"]


@pytest.mark.parametrize("service_count", [3, 10, 30])
@pytest.mark.parametrize("name", TARGETS)
def test_no_environment_template_passes_sixty_percent_at_up_to_30_services(make_config, name, service_count):
    cfg = make_config(project={"services": make_services(service_count)}, target=name)
    report = cloudformation.check(target_of(cfg))
    assert report.findings == [], [str(f) for f in report.findings]


@pytest.mark.parametrize("service_count", [3, 10, 30])
def test_no_pipeline_template_passes_sixty_percent_at_up_to_30_services(make_pipeline_config, service_count):
    cfg = make_pipeline_config(
        project={"services": make_services(service_count)}, pipeline={"build": {"test_commands": []}, "integration_tests": []}
    )
    assert cloudformation.check(target_of(cfg)).findings == []


def target_of(cfg) -> Target:
    return Target(cfg.target, cfg.stack_prefix, render(cfg))


# --- nested-stack parameter constraints ---------------------------------------------------------


def nested(value, **declared) -> Target:
    """A root passing ``value`` as Size to child.json, whose Size parameter declares ``declared``."""
    stack = {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "child.json", "Parameters": {"Size": value}}}
    root = {"Resources": {"Child": stack}}
    child = {"Parameters": {"Size": {"Type": "String", **declared}}, "Resources": {"T": {"Type": "AWS::SNS::Topic"}}}
    return Target("staging", "shop-staging", {"root.json": root, "child.json": child})


@pytest.mark.parametrize(
    ("value", "declared", "limit"),
    [
        ("small", {"AllowedValues": ["small", "large"]}, None),
        ("huge", {"AllowedValues": ["small", "large"]}, "one of ['small', 'large']"),
        ("api-service", {"AllowedPattern": "[a-z][a-z0-9-]{0,30}[a-z0-9]"}, None),
        ("api-", {"AllowedPattern": "[a-z][a-z0-9-]{0,30}[a-z0-9]"}, "AllowedPattern [a-z][a-z0-9-]{0,30}[a-z0-9]"),
        ("1024", {"Type": "Number", "MinValue": 1024, "MaxValue": 65535}, None),
        ("1023", {"Type": "Number", "MinValue": 1024, "MaxValue": 65535}, "a number from 1024 to 65535"),
        ("65536", {"Type": "Number", "MinValue": 1024, "MaxValue": 65535}, "a number from 1024 to 65535"),
        ("abc", {"MinLength": 1, "MaxLength": 3}, None),
        ("abcd", {"MinLength": 1, "MaxLength": 3}, "a length from 1 to 3"),
    ],
)
def test_a_literal_a_parent_passes_must_meet_the_childs_constraints(value, declared, limit):
    report = cloudformation.check_parameters(nested(value, **declared))
    assert report.checks == {cloudformation.PARAMETER_RULE: 1}
    assert [f.limit for f in report.findings] == ([limit] if limit else [])
    if limit:
        assert str(report.findings[0]) == (
            f"staging: root.json: Child parameter Size: {cloudformation.PARAMETER_RULE}: {value!r} (limit: {limit})"
        )


def test_a_value_resolved_at_deploy_time_is_left_to_cloudformation():
    report = cloudformation.check_parameters(nested({"Ref": "AWS::Region"}, AllowedPattern="x"))
    assert report.checks == {} and report.findings == []


def test_every_service_stack_gets_values_its_constraints_accept(configured_environment):
    """The service template's constraints come from the same declarations the loader checked the values with."""
    cfg = configured_environment.config
    report = cloudformation.check_parameters(Target(cfg.target, cfg.stack_prefix, configured_environment.rendered))
    assert report.findings == [] and report.checks[cloudformation.PARAMETER_RULE] >= 6 * len(cfg.project.services)
