"""Every stack state a deploy can meet, and the protections for protected targets (recorded responses)."""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY
from deploy_helpers import NETWORK_ARN, STACK_ARN, at, make_context, options, output, stubbed

from deployer import stacks
from deployer.aws import Aws
from deployer.errors import DeployError
from deployer.execution import Target, prepare

STAGING = Target("staging", False, "python deploy.py --env staging --follow")
PRODUCTION = Target("production", True, "python deploy.py --env production --follow")


def stack(status, **extra):
    return {"StackName": "demo-staging", "StackId": STACK_ARN, "CreationTime": at(-1000), "StackStatus": status, **extra}


def context(stubber_client, *answers, interactive=True):
    return make_context(Aws(clients={"cloudformation": stubber_client}), *answers, interactive=interactive)


@pytest.mark.parametrize(
    "status, action, message",
    [
        (None, stacks.CREATE, ""),
        ("REVIEW_IN_PROGRESS", stacks.CREATE, ""),
        ("CREATE_COMPLETE", stacks.UPDATE, ""),
        ("UPDATE_COMPLETE", stacks.UPDATE, ""),
        ("UPDATE_ROLLBACK_COMPLETE", stacks.UPDATE, ""),
        ("IMPORT_COMPLETE", stacks.UPDATE, ""),
        ("CREATE_IN_PROGRESS", stacks.WAIT, "demo-staging is CREATE_IN_PROGRESS: another operation is running; rerun with --wait"),
        ("UPDATE_IN_PROGRESS", stacks.WAIT, "or watch it with `python deploy.py --env staging --follow`"),
        ("UPDATE_ROLLBACK_IN_PROGRESS", stacks.WAIT, "rerun with --wait"),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", stacks.WAIT, "rerun with --wait"),
        ("DELETE_IN_PROGRESS", stacks.WAIT, "rerun with --wait"),
        ("ROLLBACK_COMPLETE", stacks.RECREATE, "its first create failed and was rolled back; CloudFormation cannot update it"),
        ("UPDATE_ROLLBACK_FAILED", stacks.REFUSE, "`aws cloudformation continue-update-rollback --stack-name demo-staging`"),
        ("ROLLBACK_FAILED", stacks.REFUSE, "`aws cloudformation delete-stack --stack-name demo-staging`"),
        ("CREATE_FAILED", stacks.REFUSE, "could not be cleaned up"),
        ("DELETE_FAILED", stacks.REFUSE, "remove what blocks the deletion"),
    ],
)
def test_each_state_has_a_verdict_and_a_one_line_way_out(status, action, message):
    verdict = stacks.verdict(stack(status) if status else None, "staging")
    assert verdict.action == action
    assert message in verdict.message
    assert "\n" not in verdict.message


def test_a_busy_stack_is_refused_without_wait():
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", {"Stacks": [stack("UPDATE_IN_PROGRESS")]}, {"StackName": "demo-staging"})
    with pytest.raises(DeployError, match="is UPDATE_IN_PROGRESS: another operation is running; rerun with --wait"):
        prepare(context(cfn), options(), STAGING, "demo-staging")


def test_with_wait_a_busy_stack_is_waited_for():
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", {"Stacks": [stack("UPDATE_IN_PROGRESS")]}, {"StackName": "demo-staging"})
    stubber.add_response("describe_stacks", {"Stacks": [stack("UPDATE_IN_PROGRESS")]}, {"StackName": STACK_ARN})
    stubber.add_response("describe_stacks", {"Stacks": [stack("UPDATE_COMPLETE")]}, {"StackName": STACK_ARN})
    stubber.add_response("describe_stacks", {"Stacks": [stack("UPDATE_COMPLETE")]}, {"StackName": "demo-staging"})
    ctx = context(cfn)
    assert prepare(ctx, options(wait=True), STAGING, "demo-staging")[0] == stacks.UPDATE
    assert "waiting for demo-staging (UPDATE_IN_PROGRESS) to finish ..." in output(ctx.console)
    assert "demo-staging is UPDATE_COMPLETE" in output(ctx.console)
    stubber.assert_no_pending_responses()


def test_a_failed_first_create_is_deleted_and_recreated_when_the_user_agrees():
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", {"Stacks": [stack("ROLLBACK_COMPLETE")]}, {"StackName": "demo-staging"})
    stubber.add_response("delete_stack", {}, {"StackName": STACK_ARN, "ClientRequestToken": ANY})
    stubber.add_response("describe_stacks", {"Stacks": [stack("DELETE_IN_PROGRESS")]}, {"StackName": STACK_ARN})
    stubber.add_response("describe_stacks", {"Stacks": [stack("DELETE_COMPLETE")]}, {"StackName": STACK_ARN})
    stubber.add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id demo-staging does not exist",
        400,
        expected_params={"StackName": "demo-staging"},
    )
    ctx = context(cfn, "y")
    assert prepare(ctx, options(), STAGING, "demo-staging")[0] == stacks.CREATE
    assert ctx.console._ask.questions == ["Delete demo-staging and create it again? [y/N] "]
    stubber.assert_no_pending_responses()


def test_a_failed_first_create_is_left_alone_when_the_user_declines():
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", {"Stacks": [stack("ROLLBACK_COMPLETE")]}, {"StackName": "demo-staging"})
    with pytest.raises(DeployError, match="left in ROLLBACK_COMPLETE; it must be deleted before it can be deployed"):
        prepare(context(cfn, "n"), options(), STAGING, "demo-staging")
    stubber.assert_no_pending_responses()


def test_update_rollback_failed_explains_the_way_out():
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", {"Stacks": [stack("UPDATE_ROLLBACK_FAILED")]}, {"StackName": "demo-staging"})
    with pytest.raises(DeployError, match="continue-update-rollback --stack-name demo-staging`.*--resources-to-skip"):
        prepare(context(cfn), options(), STAGING, "demo-staging")


def test_a_protected_target_asks_for_its_name_even_with_yes():
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", {"Stacks": [stack("ROLLBACK_COMPLETE")]}, {"StackName": "demo-staging"})
    ctx = context(cfn, "yes")
    with pytest.raises(DeployError, match="left in ROLLBACK_COMPLETE"):
        prepare(ctx, options(yes=True), PRODUCTION, "demo-staging")
    assert ctx.console._ask.questions == ["Delete demo-staging and create it again? production is protected; type its name to confirm: "]


def test_a_protected_target_without_a_terminal_needs_confirm():
    console_ctx = make_context(Aws(clients={}), interactive=False)
    with pytest.raises(DeployError, match="production is protected: .* pass --confirm production"):
        console_ctx.console.confirm_name("Go?", name="production", given=None, action="execute the change set")
    with pytest.raises(DeployError, match="--confirm 'staging' does not match the target 'production'"):
        console_ctx.console.confirm_name("Go?", name="production", given="staging", action="execute the change set")
    assert console_ctx.console.confirm_name("Go?", name="production", given="production", action="x")


def test_protect_sets_termination_protection_and_the_policy_on_every_nested_stack():
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response(
        "update_termination_protection", {"StackId": STACK_ARN}, {"StackName": STACK_ARN, "EnableTerminationProtection": True}
    )
    summary = {
        "LogicalResourceId": "Network",
        "PhysicalResourceId": NETWORK_ARN,
        "ResourceType": "AWS::CloudFormation::Stack",
        "LastUpdatedTimestamp": at(0),
        "ResourceStatus": "UPDATE_COMPLETE",
    }
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": [summary]}, {"StackName": STACK_ARN})
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": NETWORK_ARN})
    stubber.add_response("set_stack_policy", {}, {"StackName": STACK_ARN, "StackPolicyBody": stacks.stack_policy()})
    stubber.add_response("set_stack_policy", {}, {"StackName": NETWORK_ARN, "StackPolicyBody": stacks.stack_policy()})
    stacks.protect(cfn, stack("UPDATE_COMPLETE", EnableTerminationProtection=False))
    stubber.assert_no_pending_responses()


def test_the_stack_policy_denies_replacing_or_deleting_stateful_resources_only():
    policy = json.loads(stacks.stack_policy())
    allow, deny = policy["Statement"]
    assert allow == {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"}
    assert deny["Effect"] == "Deny" and deny["Action"] == ["Update:Replace", "Update:Delete"]
    assert {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::ECR::Repository"} <= set(
        deny["Condition"]["StringEquals"]["ResourceType"]
    )
