"""Change sets: create (nested stacks included), wait, read every page, delete.

A change set that turns out empty is deleted at once, so unchanged redeploys
leave nothing behind; so is one that failed, and one never executed (see
``deployer.execution``).  Names are unique per run and creation carries an
idempotency token, so a retried request cannot create a second change set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from deployer.errors import DeployError, one_line
from deployer.timing import Poll

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
_EMPTY = re.compile(r"didn't contain changes|No updates are to be performed", re.IGNORECASE)
STACK_TYPE = "AWS::CloudFormation::Stack"


@dataclass(frozen=True)
class Request:
    stack_name: str
    change_set_type: str  # CREATE or UPDATE
    parameters: dict[str, str]
    tags: dict[str, str]
    template_url: str | None = None
    template_body: str | None = None
    description: str = ""
    role_arn: str | None = None  # CloudFormation service role (RoleARN); None: the caller's credentials


@dataclass
class ChangeSet:
    """One stack's change set and, recursively, its nested stacks' ones."""

    path: str  # root stack name, then "/LogicalId" per nesting level
    id: str
    stack_id: str
    status: str
    changes: list[dict] = field(default_factory=list)
    children: list[ChangeSet] = field(default_factory=list)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def resource_count(self) -> int:
        """Resources the execution touches, nested ones included: the progress bar's total."""
        return sum(len(node.changes) for node in self.walk())


def create(cfn, request: Request, *, name: str, token: str) -> tuple[str, str]:
    """(change set id, stack id); a CREATE change set makes an empty REVIEW_IN_PROGRESS stack."""
    arguments = dict(
        StackName=request.stack_name,
        ChangeSetName=name,
        ChangeSetType=request.change_set_type,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in request.parameters.items()],
        Tags=[{"Key": k, "Value": v} for k, v in request.tags.items()],
        Capabilities=CAPABILITIES,
        IncludeNestedStacks=True,
        ClientToken=token,
    )
    if request.description:
        arguments["Description"] = request.description[:1024]
    if request.role_arn:
        arguments["RoleARN"] = request.role_arn
    if request.template_url:
        arguments["TemplateURL"] = request.template_url
    else:
        arguments["TemplateBody"] = request.template_body
    response = cfn.create_change_set(**arguments)
    return response["Id"], response["StackId"]


def wait(cfn, change_set_id: str, poll: Poll) -> bool:
    """Wait until the change set is ready: True when it holds changes, False when empty.

    The caller deletes it either way once done with it (``deployer.execution``).
    """
    while True:
        page = cfn.describe_change_set(ChangeSetName=change_set_id)
        status = page["Status"]
        if status == "CREATE_COMPLETE":
            return True
        if status == "FAILED":
            reason = page.get("StatusReason", "")
            if _EMPTY.search(reason):
                return False
            raise DeployError(f"CloudFormation could not create the change set: {one_line(reason)}")
        poll.sleep()


def describe(cfn, change_set_id: str, path: str) -> ChangeSet:
    """Every page of the change set, then each nested stack's change set, recursively."""
    pages = list(cfn.get_paginator("describe_change_set").paginate(ChangeSetName=change_set_id))
    first = pages[0]
    node = ChangeSet(
        path=path,
        id=first["ChangeSetId"],
        stack_id=first["StackId"],
        status=first["Status"],
        changes=[change for page in pages for change in page.get("Changes", [])],
    )
    for change in node.changes:
        resource = change.get("ResourceChange", {})
        if resource.get("ResourceType") == STACK_TYPE and resource.get("ChangeSetId"):
            node.children.append(describe(cfn, resource["ChangeSetId"], f"{path}/{resource['LogicalResourceId']}"))
    return node


def delete(cfn, change_set_id: str) -> None:
    cfn.delete_change_set(ChangeSetName=change_set_id)


def execute(cfn, change_set_id: str, token: str) -> None:
    cfn.execute_change_set(ChangeSetName=change_set_id, ClientRequestToken=token)


# The names deploy.py gives the change sets it makes for itself (``execution.change_set_name``);
# --plan's are named by the caller and kept, so they never match.
OWN_NAME = re.compile(r"deploy-\d{8}-\d{6}-[0-9a-f]{8}")
NOT_EXECUTED = {"AVAILABLE", "UNAVAILABLE", "OBSOLETE"}
# A change set younger than this may belong to a run still waiting at its prompt.
STALE_AFTER_SECONDS = 15 * 60


def leftovers(cfn, stack_name: str, now) -> list[dict]:
    """Change sets of earlier runs that died before deleting them: deploy.py's names, never executed, stale."""
    found = []
    for page in cfn.get_paginator("list_change_sets").paginate(StackName=stack_name):
        for summary in page.get("Summaries", []):
            if not OWN_NAME.fullmatch(summary.get("ChangeSetName", "")):
                continue
            if summary.get("ExecutionStatus") not in NOT_EXECUTED:
                continue
            created = summary.get("CreationTime")
            if created is not None and (now - created).total_seconds() < STALE_AFTER_SECONDS:
                continue
            found.append(summary)
    return found
