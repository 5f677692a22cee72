"""parliament over every identity policy of every target, and proof that it can fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from security import parliament_audit
from templates.render import render
from tests.conftest import ALL_TARGETS, TARGETS, make_services, render_target

BAD = json.loads((Path(__file__).parent / "fixtures" / "bad_policies.json").read_text())


@pytest.mark.parametrize("target", TARGETS)
def test_parliament_finds_nothing_in_any_target(target):
    rendered = render_target(target)
    findings = [f for name, template in rendered.items() for f in parliament_audit.audit(f"{target}/{name}", template)]
    assert not findings, "\n" + "\n".join(map(str, findings))


def test_parliament_finds_nothing_with_thirty_services(make_config):
    rendered = render(make_config(project={"services": make_services(30)}, target="production"))
    assert [f for name, t in rendered.items() for f in parliament_audit.audit(name, t)] == []


def test_a_deliberately_bad_policy_is_caught():
    issues = {(f.resource, f.issue) for f in parliament_audit.audit("bad.json", BAD)}
    assert ("GreedyRole", "UNKNOWN_ACTION") in issues


def test_intrinsics_become_well_formed_sample_arns():
    template = {"Resources": {"Group": {"Type": "AWS::Logs::LogGroup"}}, "Parameters": {"EnvironmentKeyArn": {}}}
    sampler = parliament_audit.Sampler(template)
    resolved = sampler.resolve(
        [
            {"Fn::Sub": ["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Name}:*", {"Name": {"Ref": "Group"}}]},
            {"Ref": "EnvironmentKeyArn"},
            {"Fn::GetAtt": ["Group", "Arn"]},
        ]
    )
    assert resolved == [
        "arn:aws:logs:us-east-1:123456789012:log-group:sample-log-group:*",
        "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
        "arn:aws:logs:us-east-1:123456789012:log-group:sample-log-group:*",
    ]


def test_suppressions_carry_a_reason():
    assert all(reason.strip() for reason in parliament_audit.SUPPRESSED.values())


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_parliament_finds_nothing_in_any_rendered_target_including_the_pipeline(target):
    rendered = render_target(target)
    findings = [f for name, template in rendered.items() for f in parliament_audit.audit(f"{target}/{name}", template)]
    assert not findings, "\n" + "\n".join(map(str, findings))


def test_parliament_finds_nothing_in_the_pipeline_with_thirty_services(make_pipeline_config):
    cfg = make_pipeline_config(project={"services": make_services(30)}, pipeline={"build": {"test_commands": []}, "integration_tests": []})
    assert [f for name, t in render(cfg).items() for f in parliament_audit.audit(name, t)] == []
