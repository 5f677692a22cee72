"""Nested change sets, read page by page and rendered per stack (recorded responses: moto has no nested change sets)."""

from __future__ import annotations

import pytest
from deploy_helpers import NETWORK_ARN, STACK_ARN, SUBNETS_ARN, change_set_arn, fast_poll, stubbed

from deployer import changesets
from deployer.errors import DeployError
from deployer.render import render

ROOT_CS, NETWORK_CS, SUBNETS_CS = change_set_arn("root"), change_set_arn("network"), change_set_arn("subnets")


def page(change_set_id, stack_id, stack_name, changes, next_token=None):
    response = {
        "ChangeSetName": change_set_id.split("/")[1],
        "ChangeSetId": change_set_id,
        "StackId": stack_id,
        "StackName": stack_name,
        "ExecutionStatus": "AVAILABLE",
        "Status": "CREATE_COMPLETE",
        "Changes": changes,
    }
    if next_token:
        response["NextToken"] = next_token
    return response


def change(action, logical_id, resource_type, replacement=None, paths=(), change_set_id=None):
    resource = {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Details": [
            {"Target": {"Attribute": "Properties", "Name": path.split("/")[2], "Path": path, "RequiresRecreation": "Never"}}
            for path in paths
        ],
    }
    if replacement:
        resource["Replacement"] = replacement
    if change_set_id:
        resource["ChangeSetId"] = change_set_id
    return {"Type": "Resource", "ResourceChange": resource}


def stub_nested_change_set(stubber):
    # The root's description spans two pages; each nested stack has its own change set.
    stubber.add_response(
        "describe_change_set",
        page(
            ROOT_CS,
            STACK_ARN,
            "demo-staging",
            [change("Modify", "Network", "AWS::CloudFormation::Stack", "False", change_set_id=NETWORK_CS)],
            "page-2",
        ),
        {"ChangeSetName": ROOT_CS},
    )
    stubber.add_response(
        "describe_change_set",
        page(ROOT_CS, STACK_ARN, "demo-staging", [change("Add", "Alarm", "AWS::CloudWatch::Alarm")]),
        {"ChangeSetName": ROOT_CS, "NextToken": "page-2"},
    )
    stubber.add_response(
        "describe_change_set",
        page(
            NETWORK_CS,
            NETWORK_ARN,
            "demo-staging-Network-ABC",
            [
                change("Modify", "Vpc", "AWS::EC2::VPC", "True", ["/Properties/CidrBlock"]),
                change("Modify", "Subnets", "AWS::CloudFormation::Stack", "False", change_set_id=SUBNETS_CS),
                change("Remove", "OldTopic", "AWS::SNS::Topic"),
            ],
        ),
        {"ChangeSetName": NETWORK_CS},
    )
    stubber.add_response(
        "describe_change_set",
        page(
            SUBNETS_CS,
            SUBNETS_ARN,
            "demo-staging-Network-ABC-Subnets-DEF",
            [change("Modify", "Subnet1", "AWS::EC2::Subnet", "Conditional", ["/Properties/Tags/0/Value", "/Properties/CidrBlock"])],
        ),
        {"ChangeSetName": SUBNETS_CS},
    )


def test_every_page_and_every_nested_change_set_is_read_and_rendered():
    cfn, stubber = stubbed("cloudformation")
    stub_nested_change_set(stubber)
    tree = changesets.describe(cfn, ROOT_CS, "demo-staging")
    stubber.assert_no_pending_responses()
    assert [node.path for node in tree.walk()] == ["demo-staging", "demo-staging/Network", "demo-staging/Network/Subnets"]
    assert tree.resource_count == 6
    assert render(tree) == [
        "Stack demo-staging: 2 changes",
        "  Action  Logical ID  Type                        Replacement  Changed properties",
        "  Modify  Network     AWS::CloudFormation::Stack",
        "  Add     Alarm       AWS::CloudWatch::Alarm",
        "  Stack demo-staging/Network: 3 changes",
        "    Action  Logical ID  Type                        Replacement  Changed properties",
        "    Modify  Vpc         AWS::EC2::VPC               REPLACE      CidrBlock",
        "    Modify  Subnets     AWS::CloudFormation::Stack",
        "    Remove  OldTopic    AWS::SNS::Topic",
        "    Stack demo-staging/Network/Subnets: 1 change",
        "      Action  Logical ID  Type              Replacement  Changed properties",
        "      Modify  Subnet1     AWS::EC2::Subnet  MAY REPLACE  CidrBlock, Tags.0.Value",
        "1 to add, 2 to modify, 1 to remove",
        "!! 2 resources may be deleted and created anew:",
        "!!   demo-staging/Network/Vpc (AWS::EC2::VPC) will be REPLACED",
        "!!   demo-staging/Network/Subnets/Subnet1 (AWS::EC2::Subnet) may be REPLACED",
    ]


def test_a_change_set_is_created_with_nested_stacks_a_token_and_the_capabilities():
    cfn, stubber = stubbed("cloudformation")
    request = changesets.Request("demo-staging", "UPDATE", {"ImageTag": "v1"}, {"project": "demo"}, template_url="https://b/k")
    stubber.add_response(
        "create_change_set",
        {"Id": ROOT_CS, "StackId": STACK_ARN},
        {
            "StackName": "demo-staging",
            "ChangeSetName": "deploy-x",
            "ChangeSetType": "UPDATE",
            "TemplateURL": "https://b/k",
            "Parameters": [{"ParameterKey": "ImageTag", "ParameterValue": "v1"}],
            "Tags": [{"Key": "project", "Value": "demo"}],
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            "IncludeNestedStacks": True,
            "ClientToken": "token-1",
        },
    )
    assert changesets.create(cfn, request, name="deploy-x", token="token-1") == (ROOT_CS, STACK_ARN)


def test_waiting_polls_until_ready_and_recognises_an_empty_change_set():
    cfn, stubber = stubbed("cloudformation")
    pending = page(ROOT_CS, STACK_ARN, "demo-staging", []) | {"Status": "CREATE_IN_PROGRESS"}
    empty = pending | {
        "Status": "FAILED",
        "StatusReason": "The submitted information didn't contain changes. Submit different information to create a change set.",
    }
    stubber.add_response("describe_change_set", pending, {"ChangeSetName": ROOT_CS})
    stubber.add_response("describe_change_set", empty, {"ChangeSetName": ROOT_CS})
    assert changesets.wait(cfn, ROOT_CS, fast_poll()) is False


def test_a_change_set_that_fails_for_another_reason_is_an_error():
    cfn, stubber = stubbed("cloudformation")
    failed = page(ROOT_CS, STACK_ARN, "demo-staging", []) | {
        "Status": "FAILED",
        "StatusReason": "Parameters: [Greeting] must have values",
    }
    stubber.add_response("describe_change_set", failed, {"ChangeSetName": ROOT_CS})
    with pytest.raises(DeployError, match=r"could not create the change set: Parameters: \[Greeting\] must have values"):
        changesets.wait(cfn, ROOT_CS, fast_poll())
