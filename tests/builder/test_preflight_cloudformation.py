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
