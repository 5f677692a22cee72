"""CodePipeline quotas: configuration values at most 1,000 characters resolved, at most 50 actions per stage."""

from __future__ import annotations

from builder.preflight import codepipeline
from tests.builder.preflight_fixtures import rules_of, target


def pipeline(*stages: list[dict]) -> dict:
    return {
        "Type": "AWS::CodePipeline::Pipeline",
        "Properties": {"Stages": [{"Name": f"Stage{i}", "Actions": actions} for i, actions in enumerate(stages)]},
    }


def invoke(name: str, user_parameters) -> dict:
    return {
        "Name": name,
        "ActionTypeId": {"Category": "Invoke", "Owner": "AWS", "Provider": "Lambda", "Version": "1"},
        "Configuration": {"FunctionName": "shop-staging-health-canary", "UserParameters": user_parameters},
    }


def test_values_within_1000_characters_and_50_actions_pass():
    report = codepipeline.check(target({"Pipeline": pipeline([invoke(f"A{i}", "x" * 1000) for i in range(50)])}))
    assert report.findings == []
    assert report.checks == {codepipeline.RULE_ACTIONS: 1, codepipeline.RULE_VALUE: 100}


def test_a_value_over_1000_characters_once_resolved_is_a_finding():
    # As written the value is 960 characters; ${Canary.Arn} resolves to an 85-character ARN in aws-us-gov.
    value = {"Fn::Sub": "x" * 947 + "${Canary.Arn}"}
    canary = {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "shop-staging-health-canary"}}
    assert len(value["Fn::Sub"]) == 960
    report = codepipeline.check(target({"Pipeline": pipeline([invoke("HealthCheck", value)]), "Canary": canary}))
    assert rules_of(report) == [codepipeline.RULE_VALUE]
    assert str(report.findings[0]) == (
        "staging: root.json: Pipeline action HealthCheck.UserParameters: codepipeline-configuration-value: 1032 characters (limit: 1000)"
    )


def test_more_than_50_actions_in_a_stage_is_a_finding():
    report = codepipeline.check(target({"Pipeline": pipeline([invoke(f"A{i}", "{}") for i in range(51)])}))
    assert rules_of(report) == [codepipeline.RULE_ACTIONS]
    assert report.findings[0].value == "51 actions"
