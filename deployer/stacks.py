"""What a stack's current state allows, and the protections put on deployed stacks.

Every state a deploy can meet maps to one of: create, update, wait (another
operation is running), recreate (a failed first create, which CloudFormation
will only delete), or refuse with the way out spelled out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from botocore.exceptions import ClientError

from deployer.errors import is_not_found
from deployer.follow import in_progress

STACK_TYPE = "AWS::CloudFormation::Stack"

# Types whose replacement or deletion loses data or breaks everything that
# points at them; a protected target's stack policy denies both.
STATEFUL_TYPES = sorted(
    {
        "AWS::CloudFormation::Stack",
        "AWS::DynamoDB::Table",
        "AWS::EC2::VPC",
        "AWS::ECR::Repository",
        "AWS::EFS::FileSystem",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
    }
)

CREATE, UPDATE, WAIT, RECREATE, REFUSE = "CREATE", "UPDATE", "WAIT", "RECREATE", "REFUSE"
UPDATABLE = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_FAILED",  # only with rollback disabled; a new update is allowed
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
}


@dataclass(frozen=True)
class Verdict:
    action: str
    message: str = ""


def describe(cfn, stack_name: str) -> dict | None:
    """The stack, or None when there is none (deleted stacks are not returned by name)."""
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def verdict(stack: dict | None, target: str) -> Verdict:
    if stack is None:
        return Verdict(CREATE)
    name, status = stack["StackName"], stack["StackStatus"]
    if status == "REVIEW_IN_PROGRESS":
        # Created by a change set that was never executed: it holds no resources.
        return Verdict(CREATE)
    if status in UPDATABLE:
        return Verdict(UPDATE)
    if in_progress(status):
        return Verdict(
            WAIT,
            f"{name} is {status}: another operation is running; rerun with --wait to wait for it, "
            f"or watch it with `python deploy.py --env {target} --follow`",
        )
    if status == "ROLLBACK_COMPLETE":
        return Verdict(
            RECREATE,
            f"{name} is ROLLBACK_COMPLETE: its first create failed and was rolled back; "
            "CloudFormation cannot update it, only delete it and create it again",
        )
    return Verdict(REFUSE, way_out(name, status))


def way_out(name: str, status: str) -> str:
    if status == "UPDATE_ROLLBACK_FAILED":
        return (
            f"{name} is UPDATE_ROLLBACK_FAILED: a resource could not be rolled back. Fix what the stack's events "
            f"name (often a resource changed or deleted by hand), then run `aws cloudformation continue-update-rollback "
            f"--stack-name {name}` (add --resources-to-skip LOGICAL_ID for a resource that cannot be restored; nested: "
            "NestedStackName.LogicalId) and rerun once it is UPDATE_ROLLBACK_COMPLETE"
        )
    if status in ("ROLLBACK_FAILED", "CREATE_FAILED"):
        return (
            f"{name} is {status}: its first create failed and could not be cleaned up. Delete it with "
            f"`aws cloudformation delete-stack --stack-name {name}` (add --retain-resources for resources that "
            "cannot be deleted), then rerun"
        )
    if status == "DELETE_FAILED":
        return (
            f"{name} is DELETE_FAILED: remove what blocks the deletion (see the stack's events), then "
            f"`python deploy.py --delete` again, or `aws cloudformation delete-stack --stack-name {name} --retain-resources ...`"
        )
    return f"{name} is {status}, which deploy.py cannot update; see the stack's events in the CloudFormation console"


def stack_policy() -> str:
    """Allow every update except replacing or deleting a stateful resource."""
    return json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": ["Update:Replace", "Update:Delete"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"ResourceType": STATEFUL_TYPES}},
                },
            ]
        },
        sort_keys=True,
    )


def nested_stack_ids(cfn, stack_id: str) -> list[tuple[str, str]]:
    """(nested path suffix, physical id) of every stack below this one, depth first."""
    found = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
        for summary in page["StackResourceSummaries"]:
            if summary["ResourceType"] == STACK_TYPE and summary.get("PhysicalResourceId"):
                child = summary["PhysicalResourceId"]
                found.append((summary["LogicalResourceId"], child))
                found += [(f"{summary['LogicalResourceId']}/{path}", grandchild) for path, grandchild in nested_stack_ids(cfn, child)]
    return found


def protect(cfn, stack: dict) -> None:
    """Termination protection on the root, and the stack policy on it and every nested stack.

    A stack policy only governs its own stack's resources, so nested stacks
    each get it too; it is set after every deploy because nested stacks come
    and go.  (CreateChangeSet has no stack policy argument.)
    """
    if not stack.get("EnableTerminationProtection"):
        cfn.update_termination_protection(StackName=stack["StackId"], EnableTerminationProtection=True)
    policy = stack_policy()
    for stack_id in [stack["StackId"]] + [child for _, child in nested_stack_ids(cfn, stack["StackId"])]:
        cfn.set_stack_policy(StackName=stack_id, StackPolicyBody=policy)


def parameters(stack: dict) -> dict[str, str]:
    """A described stack's parameter values by name."""
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def outputs(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in sorted(stack.get("Outputs", []), key=lambda o: o["OutputKey"])}
