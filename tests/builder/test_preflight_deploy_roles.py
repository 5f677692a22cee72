"""Deploy roles: sufficient for their own target (registry schemas), unable to touch another target."""

from __future__ import annotations

from builder.preflight import deploy_roles
from tests.builder.preflight_fixtures import allow, document, role, rules_of, target

TRUST = document({"Effect": "Allow", "Principal": {"Service": ["cloudformation.amazonaws.com"]}, "Action": ["sts:AssumeRole"]})
TOPIC_ARN = "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:shop-staging-alerts"


def pipeline_with(*statements: dict):
    deploy = {
        "Name": "UpdateStagingStack",
        "ActionTypeId": {"Category": "Deploy", "Owner": "AWS", "Provider": "CloudFormation", "Version": "1"},
        "Configuration": {"StackName": "shop-staging", "RoleArn": {"Fn::GetAtt": ["StagingDeployRole", "Arn"]}},
    }
    resources = {
        "StagingDeployRole": role([document(*statements)], trust=TRUST),
        "Pipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {"Stages": [{"Name": "Deploy", "Actions": [deploy]}]}},
    }
    return target(resources, name="pipeline", stack_name="shop-pipeline")


def staging():
    return target({"Topic": {"Type": "AWS::SNS::Topic"}})


def check(*statements: dict):
    return deploy_roles.check(pipeline_with(*statements), {"staging": staging()}, "shop")


SCOPED = {"Fn::Sub": TOPIC_ARN}
TOPIC_ACTIONS = ["sns:*", "iam:GetRole", "iam:PassRole"]


def test_the_role_is_found_from_the_action_that_uses_it():
    assert deploy_roles.deploy_roles(pipeline_with(), {"shop-staging": "staging"}) == {"StagingDeployRole": "staging"}


def test_a_role_allowing_every_handler_permission_on_its_own_resources_passes():
    report = check(allow(TOPIC_ACTIONS, [SCOPED, {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/shop-staging-*"}]))
    assert report.findings == []
    assert report.checks[deploy_roles.RULE_SUFFICIENT] == 14 and report.checks[deploy_roles.RULE_ISOLATED] == 2


def test_a_missing_handler_permission_is_a_finding_naming_the_action_and_type():
    report = check(allow(["sns:CreateTopic", "sns:DeleteTopic"], [SCOPED]))
    missing = [f.value for f in report.findings if f.rule == deploy_roles.RULE_SUFFICIENT]
    assert "sns:TagResource not allowed, needed by AWS::SNS::Topic" in missing
    assert "sns:CreateTopic not allowed, needed by AWS::SNS::Topic" not in missing


def test_writing_to_another_targets_resources_is_a_finding():
    other = {"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:shop-production-alerts"}
    report = check(allow(TOPIC_ACTIONS, [SCOPED, other]))
    assert rules_of(report) == [deploy_roles.RULE_ISOLATED]
    assert "shop-production-alerts" in report.findings[0].value


def test_a_prefix_that_also_matches_a_longer_target_name_is_a_finding():
    # "shop-staging*" would also match the resources of a target called "staging2".
    loose = {"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:shop-staging*"}
    assert rules_of(check(allow(TOPIC_ACTIONS, [loose]))) == [deploy_roles.RULE_ISOLATED]


def test_reads_need_no_prefix_and_a_target_tag_condition_scopes_writes():
    anywhere = {"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:*"}
    tagged = {"StringEquals": {"aws:ResourceTag/Target": "staging"}}
    report = check(
        allow(["sns:GetTopicAttributes", "sns:ListTagsForResource"], [anywhere]), allow(TOPIC_ACTIONS, [anywhere], Condition=tagged)
    )
    assert rules_of(report) == []


def test_a_tag_condition_for_another_target_does_not_scope():
    anywhere = {"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:*"}
    other_tag = {"StringEquals": {"aws:ResourceTag/Target": "production"}}
    assert rules_of(check(allow(TOPIC_ACTIONS, [anywhere], Condition=other_tag))) == [deploy_roles.RULE_ISOLATED]


def test_resource_star_only_for_listed_actions():
    assert rules_of(check(allow(TOPIC_ACTIONS, [SCOPED]), allow(["logs:DescribeLogGroups"], ["*"]))) == []
    report = check(allow(TOPIC_ACTIONS, [SCOPED]), allow(["sns:CreateTopic"], ["*"]))
    assert rules_of(report) == [deploy_roles.RULE_ISOLATED]
    assert report.findings[0].value == "Resource '*' for sns:CreateTopic"
