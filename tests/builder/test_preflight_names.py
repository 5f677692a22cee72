"""Name limits on resolved names: a good and a bad name per kind, and the stack name."""

from __future__ import annotations

import pytest

from builder.preflight import names
from tests.builder.preflight_fixtures import rules_of, target

CASES = [
    ("AWS::Lambda::Function", "FunctionName", "f" * 64, "f" * 65),
    ("AWS::IAM::Role", "RoleName", "r" * 64, "r" * 65),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Name", "t" * 32, "t" * 33),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Name", "shop-staging-api", "shop-staging-"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name", "l" * 32, "l" * 33),
    ("AWS::S3::Bucket", "BucketName", "b" * 63, "b" * 64),
    ("AWS::S3::Bucket", "BucketName", "shop-staging-logs", "Shop-Staging-Logs"),
    ("AWS::Logs::LogGroup", "LogGroupName", "/" + "g" * 511, "/" + "g" * 512),
    ("AWS::Events::Rule", "Name", "e" * 64, "e" * 65),
]


@pytest.mark.parametrize(("kind", "prop", "good", "bad"), CASES)
def test_a_name_within_the_limit_passes_and_one_over_it_is_a_finding(kind, prop, good, bad):
    assert names.check(target({"R": {"Type": kind, "Properties": {prop: good}}})).findings == []
    report = names.check(target({"R": {"Type": kind, "Properties": {prop: bad}}}))
    assert rules_of(report) == [names.RULE]
    assert report.findings[0].resource == "R"


def test_names_are_checked_resolved():
    # "${AWS::StackName}-" + 50 characters: 19 as written, 63 once the stack name is in.
    function = {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": {"Fn::Sub": "${AWS::StackName}-" + "x" * 52}}}
    assert rules_of(names.check(target({"F": function}))) == [names.RULE]


def test_a_generated_name_is_not_checked():
    report = names.check(target({"F": {"Type": "AWS::Lambda::Function", "Properties": {}}}))
    assert report.findings == [] and report.checks == {names.RULE: 1}  # the stack name only


@pytest.mark.parametrize("stack_name", ["shop_staging", "1shop", "s" * 129])
def test_a_stack_name_cloudformation_refuses_is_a_finding(stack_name):
    report = names.check(target({}, stack_name=stack_name))
    assert rules_of(report) == [names.RULE] and report.findings[0].resource == "stack"


def test_a_pipeline_actions_stack_name_is_checked():
    action = {"Name": "Deploy", "ActionTypeId": {"Provider": "CloudFormation"}, "Configuration": {"StackName": "shop_live"}}
    pipeline = {"Type": "AWS::CodePipeline::Pipeline", "Properties": {"Stages": [{"Name": "Deploy", "Actions": [action]}]}}
    report = names.check(target({"Pipeline": pipeline}))
    assert [f.resource for f in report.findings] == ["Pipeline action Deploy.StackName"]
