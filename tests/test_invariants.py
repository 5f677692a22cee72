"""Invariants every configuration's platform must hold, not only the shipped one.

Each test runs once per target of every configuration under test: by default parameters/ and examples/fleet;
``--parameters DIR`` (repeatable) checks another one instead (docs/testing.md). Nothing here pins a value of
the shipped files: expected values come from the configuration being checked.
"""

from __future__ import annotations

import json

import pytest

from builder import preflight
from security import iam_audit
from templates import names
from tests.conftest import configured_targets
from tests.templates import contract
from tests.templates.helpers import every

ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")


def test_the_nested_stack_contract_holds(configured_target):
    assert contract.violations(configured_target.rendered, names.ROOT_TEMPLATE) == []


def test_every_policy_passes_the_iam_audit_no_wildcard_outside_the_list(configured_target):
    offences = [o for file, template in configured_target.rendered.items() for o in iam_audit.audit(file, template)]
    assert not offences, "\n".join(map(str, offences))


def notifying_composites(rendered: dict[str, dict]) -> list[dict]:
    return [
        alarm["Properties"]
        for _, _, alarm in every(rendered, "AWS::CloudWatch::CompositeAlarm")
        if alarm["Properties"].get("AlarmActions") == [{"Ref": names.ALERT_TOPIC_ARN}]
    ]


def test_every_alarm_notifies_the_environments_topic(configured_environment):
    """Directly, or (in an off-hours window) through a composite alarm that notifies it and that the window's
    suppressor alarm silences; the suppressor itself is the only alarm with nothing to say."""
    alarms = [a for kind in ALARM_TYPES for a in every(configured_environment.deployed, kind)]
    assert len(alarms) >= 5 * len(configured_environment.config.project.services) + 2
    composites = notifying_composites(configured_environment.rendered)
    rules = json.dumps([c["AlarmRule"] for c in composites])
    suppressors = [c.get("ActionsSuppressor") for c in composites]
    for where, template, alarm in alarms:
        properties = alarm["Properties"]
        if properties.get("AlarmActions") == [{"Ref": names.ALERT_TOPIC_ARN}]:
            assert names.ALERT_TOPIC_ARN in template["Parameters"], where
        else:
            name = json.dumps(properties["AlarmName"])
            assert f"ALARM({name})".replace('"', '\\"') in rules or properties["AlarmName"] in suppressors, where


def test_every_switch_parameter_accepts_both_settings(configured_target):
    """A "true"/"false" parameter (a service's Running, the pipeline's CreateRepositories) must accept both: each
    setting is a documented way to deploy (docs/architecture.md, "First deploy without images")."""
    switches = 0
    for file, template in configured_target.rendered.items():
        for name, parameter in template.get("Parameters", {}).items():
            allowed = parameter.get("AllowedValues")
            if allowed and set(allowed) <= {"true", "false"}:
                assert sorted(allowed) == ["false", "true"] and parameter["Default"] == "true", f"{file}: {name}"
                switches += 1
    assert switches


def test_the_approval_waits_as_long_as_the_file_says(configured_pipeline):
    approvals = [
        action
        for _, _, pipeline in every(configured_pipeline.rendered, "AWS::CodePipeline::Pipeline")
        for stage in pipeline["Properties"]["Stages"]
        for action in stage["Actions"]
        if action["ActionTypeId"]["Category"] == "Approval"
    ]
    assert [a["TimeoutInMinutes"] for a in approvals] == [configured_pipeline.config.pipeline.approval.timeout_minutes]


def test_every_checkov_suppression_carries_a_reason(configured_target):
    for file, template in configured_target.rendered.items():
        for logical_id, resource in template["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert skip["id"].startswith("CKV") and len(skip["comment"]) > 20, f"{file}: {logical_id}"


# --- preflight over a whole configuration -------------------------------------------------------


def configurations(config) -> dict:
    by_directory: dict = {}
    for configured in configured_targets(config):
        by_directory.setdefault(configured.parameters, []).append(configured)
    return by_directory


@pytest.fixture(scope="module")
def preflight_reports(pytestconfig):
    reports = {}
    for directory, configured in configurations(pytestconfig).items():
        rendered = {c.name: c.rendered for c in configured}
        reports[directory.name] = preflight.run(rendered, [c.config for c in configured])
    return reports


def test_preflight_finds_nothing_on_any_configuration(preflight_reports):
    for name, report in preflight_reports.items():
        assert sum(report.checks.values()) > 0, name
        assert [str(f) for f in report.findings] == [], name


def test_preflight_checks_every_deploy_role_the_pipeline_uses(preflight_reports):
    """The deploy-role rules find the roles however the pipeline passes them (CodeBuild running deploy.py)."""
    for name, report in preflight_reports.items():
        assert report.checks.get("deploy-role-sufficiency", 0) > 100, name
        assert report.checks.get("deploy-role-isolation", 0) > 10, name
