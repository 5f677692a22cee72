"""Following nested stacks' events and finding the root cause (recorded responses: moto emits no nested events)."""

from __future__ import annotations

import io

import pytest
from deploy_helpers import NETWORK_ARN, STACK_ARN, at, console, fast_poll, output, stubbed

from deployer.console import Console
from deployer.errors import Interrupted
from deployer.execution import Target, follow
from deployer.follow import Follower, Seen, operation_start, root_cause

STACK_NAMES = {STACK_ARN: "demo-staging", NETWORK_ARN: "demo-staging-Network-ABC"}
TARGET = Target("staging", False, "python deploy.py --env staging --follow")
_ids = iter(range(1000))
CIDR = "Resource handler returned message: \"The CIDR '10.0.0.0/8' is invalid.\""
EMBEDDED = "Embedded stack demo-staging-Network-ABC was not successfully updated. The following resource(s) failed to update: [Vpc]."
ROLLBACK = "The following resource(s) failed to update: [Network]."


def event(stack_id, logical_id, status, second, *, resource_type=None, physical=None, reason=None):
    is_self = logical_id == STACK_NAMES[stack_id]
    result = {
        "StackId": stack_id,
        "EventId": f"event-{next(_ids)}",
        "StackName": STACK_NAMES[stack_id],
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": stack_id if is_self else (physical or f"{logical_id.lower()}-id"),
        "ResourceType": "AWS::CloudFormation::Stack" if is_self else resource_type,
        "Timestamp": at(second),
        "ResourceStatus": status,
    }
    if reason:
        result["ResourceStatusReason"] = reason
    return result


def stack(status, reason=None):
    entry = {"StackName": "demo-staging", "StackId": STACK_ARN, "CreationTime": at(-1000), "StackStatus": status}
    if reason:
        entry["StackStatusReason"] = reason
    return {"Stacks": [entry]}


def events(stubber, stack_id, newest_first, next_token=None, token=None):
    response = {"StackEvents": newest_first}
    if next_token:
        response["NextToken"] = next_token
    params = {"StackName": stack_id}
    if token:
        params["NextToken"] = token
    stubber.add_response("describe_stack_events", response, params)


def stub_failed_nested_update(stubber):
    old = event(STACK_ARN, "demo-staging", "UPDATE_COMPLETE", -100)
    old_network = event(NETWORK_ARN, "demo-staging-Network-ABC", "UPDATE_COMPLETE", -100)
    started = event(STACK_ARN, "demo-staging", "UPDATE_IN_PROGRESS", 1, reason="User Initiated")
    network = event(STACK_ARN, "Network", "UPDATE_IN_PROGRESS", 2, resource_type="AWS::CloudFormation::Stack", physical=NETWORK_ARN)
    network_started = event(NETWORK_ARN, "demo-staging-Network-ABC", "UPDATE_IN_PROGRESS", 3)
    vpc = event(NETWORK_ARN, "Vpc", "UPDATE_IN_PROGRESS", 4, resource_type="AWS::EC2::VPC")
    # poll 1: the root's events span two pages; the second reaches events older than the operation.
    stubber.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": STACK_ARN})
    events(stubber, STACK_ARN, [network, started], next_token="more")
    events(stubber, STACK_ARN, [old], token="more")
    events(stubber, NETWORK_ARN, [vpc, network_started, old_network])
    # poll 2: the VPC fails, its sibling is cancelled, everything rolls back.
    stubber.add_response("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE"), {"StackName": STACK_ARN})
    events(
        stubber,
        STACK_ARN,
        [
            event(STACK_ARN, "demo-staging", "UPDATE_ROLLBACK_COMPLETE", 13),
            event(STACK_ARN, "Network", "UPDATE_COMPLETE", 12, resource_type="AWS::CloudFormation::Stack", physical=NETWORK_ARN),
            event(
                STACK_ARN,
                "demo-staging",
                "UPDATE_ROLLBACK_IN_PROGRESS",
                10,
                reason=ROLLBACK,
            ),
            event(
                STACK_ARN,
                "Network",
                "UPDATE_FAILED",
                9,
                resource_type="AWS::CloudFormation::Stack",
                physical=NETWORK_ARN,
                reason=EMBEDDED,
            ),
            network,
        ],
    )
    events(
        stubber,
        NETWORK_ARN,
        [
            event(NETWORK_ARN, "Vpc", "UPDATE_COMPLETE", 8, resource_type="AWS::EC2::VPC"),
            event(NETWORK_ARN, "demo-staging-Network-ABC", "UPDATE_ROLLBACK_IN_PROGRESS", 7),
            event(NETWORK_ARN, "Topic", "UPDATE_FAILED", 6, resource_type="AWS::SNS::Topic", reason="Resource update cancelled"),
            event(
                NETWORK_ARN,
                "Vpc",
                "UPDATE_FAILED",
                5,
                resource_type="AWS::EC2::VPC",
                reason=CIDR,
            ),
            vpc,
        ],
    )


def test_nested_events_stream_under_their_path_and_the_root_cause_is_the_first_real_failure():
    cfn, stubber = stubbed("cloudformation")
    stub_failed_nested_update(stubber)
    c = console()
    outcome = Follower(cfn, STACK_ARN, "demo-staging", c, fast_poll(), since=at(0), total=2).run()
    stubber.assert_no_pending_responses()
    assert outcome.status == "UPDATE_ROLLBACK_COMPLETE" and not outcome.succeeded
    assert outcome.root_cause == ("demo-staging/Network/Vpc (AWS::EC2::VPC) UPDATE_FAILED: " + CIDR)
    assert output(c).splitlines() == [
        "[00:00 0/2]  demo-staging  AWS::CloudFormation::Stack  UPDATE_IN_PROGRESS  User Initiated",
        "[00:00 0/2]  demo-staging/Network  AWS::CloudFormation::Stack  UPDATE_IN_PROGRESS",
        "[00:00 0/2]  demo-staging/Network  AWS::CloudFormation::Stack  UPDATE_IN_PROGRESS",
        "[00:00 0/2]  demo-staging/Network/Vpc  AWS::EC2::VPC  UPDATE_IN_PROGRESS",
        "[00:01 1/2]  demo-staging/Network/Vpc  AWS::EC2::VPC  UPDATE_FAILED  " + CIDR,
        "[00:01 2/2]  demo-staging/Network/Topic  AWS::SNS::Topic  UPDATE_FAILED  Resource update cancelled",
        "[00:01 2/2]  demo-staging/Network  AWS::CloudFormation::Stack  UPDATE_ROLLBACK_IN_PROGRESS",
        "[00:01 2/2]  demo-staging/Network/Vpc  AWS::EC2::VPC  UPDATE_COMPLETE",
        "[00:01 2/2]  demo-staging/Network  AWS::CloudFormation::Stack  UPDATE_FAILED  " + EMBEDDED,
        "[00:01 2/2]  demo-staging  AWS::CloudFormation::Stack  UPDATE_ROLLBACK_IN_PROGRESS  " + ROLLBACK,
        "[00:01 2/2]  demo-staging/Network  AWS::CloudFormation::Stack  UPDATE_COMPLETE",
        "[00:01 2/2]  demo-staging  AWS::CloudFormation::Stack  UPDATE_ROLLBACK_COMPLETE",
    ]


def test_a_terminal_gets_a_progress_bar_with_the_elapsed_time():
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": STACK_ARN})
    events(stubber, STACK_ARN, [event(STACK_ARN, "Topic", "UPDATE_COMPLETE", 2, resource_type="AWS::SNS::Topic")])
    stubber.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": STACK_ARN})
    events(stubber, STACK_ARN, [event(STACK_ARN, "demo-staging", "UPDATE_COMPLETE", 3)])
    out = io.StringIO()
    live = Console(out=out, ask=input, interactive=True, live=True)
    outcome = Follower(cfn, STACK_ARN, "demo-staging", live, fast_poll(), since=at(0), total=2).run()
    assert outcome.succeeded and outcome.root_cause is None
    assert "UPDATE_COMPLETE\n[############............] 1/2 resources  00:00\r" in out.getvalue()
    assert "[############............] 1/2 resources  00:01\n" in out.getvalue()


def test_ctrl_c_while_following_leaves_the_stack_alone_and_says_how_to_resume():
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": STACK_ARN})
    events(stubber, STACK_ARN, [])

    def interrupt(seconds):
        raise KeyboardInterrupt

    poll = fast_poll()
    poll.sleeper = interrupt
    with pytest.raises(Interrupted) as raised:
        follow(Follower(cfn, STACK_ARN, "demo-staging", console(), poll, since=at(0)), TARGET)
    assert raised.value.exit_code == 130
    assert str(raised.value) == (
        "interrupted while following: demo-staging's operation carries on in CloudFormation. "
        "Resume following with: python deploy.py --env staging --follow"
    )
    stubber.assert_no_pending_responses()  # and no call that could change the stack


def test_attaching_finds_when_the_current_operation_started():
    cfn, stubber = stubbed("cloudformation")
    events(
        stubber,
        STACK_ARN,
        [
            event(STACK_ARN, "Topic", "UPDATE_IN_PROGRESS", 7, resource_type="AWS::SNS::Topic"),
            event(STACK_ARN, "demo-staging", "UPDATE_IN_PROGRESS", 6, reason="User Initiated"),
            event(STACK_ARN, "demo-staging", "CREATE_COMPLETE", 2),
        ],
    )
    assert operation_start(cfn, STACK_ARN) == at(6)


@pytest.mark.parametrize(
    "seen, expected",
    [
        ([], "stack failed"),  # no failure event: the stack's own reason
        (
            [
                Seen(
                    event(STACK_ARN, "Topic", "CREATE_FAILED", 5, resource_type="AWS::SNS::Topic", reason="Resource creation cancelled"),
                    "demo-staging",
                )
            ],
            "stack failed",
        ),
        (
            [
                Seen(
                    event(
                        STACK_ARN, "Network", "CREATE_FAILED", 5, resource_type="AWS::CloudFormation::Stack", reason="Embedded stack failed"
                    ),
                    "demo-staging",
                )
            ],
            "demo-staging/Network (AWS::CloudFormation::Stack) CREATE_FAILED: Embedded stack failed",
        ),
    ],
)
def test_root_cause_falls_back_when_no_resource_failure_was_seen(seen, expected):
    assert root_cause(seen, "stack failed") == expected
