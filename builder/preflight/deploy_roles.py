"""The pipeline's deploy roles: sufficient for their own target, and unable to touch another's.

A CloudFormation deploy action with ``RoleArn`` makes CloudFormation act with that role for the whole stack
operation, nested stacks included (https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CloudFormation.html,
RoleArn; https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html). The role's
target is the one whose root stack the action names (``StackName``).

Sufficiency: every permission the registry schemas list for the create, read, update and delete handlers of
every resource type in the target (``templates.iam.handler_permissions``) is allowed by an Allow statement (action
wildcards matched), or excluded there with a reason.

Isolation: a statement that creates, changes or deletes names only ARNs that carry its own target's name
prefix, or carries an ``aws:ResourceTag/Target`` or ``aws:RequestTag/Target`` condition for its own target, or
(Route 53, which has neither) limits the record names it may change to its own target's records;
``Resource: "*"`` only for the actions listed in ``templates.iam.policies.WILDCARD_RESOURCE_ACTIONS``.
"""

from __future__ import annotations

import json
import re

from builder.preflight.model import Finding, Report, as_list
from builder.preflight.policies import allowed_by, allows, role_by_arn, role_statements
from builder.preflight.resolve import Target
from templates.iam import deploy_roles as derived_roles
from templates.iam.handler_permissions import required_permissions, resource_types
from templates.iam.policies import WILDCARD_RESOURCE_ACTIONS

RULE_SUFFICIENT = "deploy-role-sufficiency"
RULE_ISOLATED = "deploy-role-isolation"
# Verbs that only read: everything else creates, changes or deletes.
READ_VERBS = re.compile(r"(Describe|Get|List|BatchGet|Head|Lookup|Search|Validate)")
TAG_KEYS = ("aws:ResourceTag/Target", "aws:RequestTag/Target")


def deploy_actions(pipeline: Target) -> list[tuple[str, str, str]]:
    """(action name, role ARN, stack name) for every action that deploys a stack with a CloudFormation role:
    a CloudFormation action's ``RoleArn``, or a CodeBuild action that runs deploy.py with ``--role-arn``
    (its ``DEPLOY_ROLE_ARN`` and ``STACK_NAME`` environment variables; templates/stacks/pipeline/buildspec.py)."""
    found = []
    for stack, logical_id, _ in pipeline.resources("AWS::CodePipeline::Pipeline"):
        for stage in stack.properties(logical_id).get("Stages", []):
            for action in stage.get("Actions", []):
                configuration = action.get("Configuration", {})
                provider = action["ActionTypeId"]["Provider"]
                if provider == "CloudFormation" and "RoleArn" in configuration:
                    found.append((action["Name"], configuration["RoleArn"], configuration["StackName"]))
                elif provider == "CodeBuild" and "EnvironmentVariables" in configuration:
                    variables = {v["name"]: v["value"] for v in json.loads(configuration["EnvironmentVariables"])}
                    if "DEPLOY_ROLE_ARN" in variables and "STACK_NAME" in variables:
                        found.append((action["Name"], variables["DEPLOY_ROLE_ARN"], variables["STACK_NAME"]))
    return found


def deploy_roles(pipeline: Target, stack_targets: dict[str, str]) -> dict[str, str]:
    """Role logical id -> the target it deploys (stack_targets: root stack name -> target)."""
    roles = {}
    for _, role_arn, stack_name in deploy_actions(pipeline):
        role = role_by_arn(pipeline, role_arn)
        if role is not None and stack_name in stack_targets:
            roles[role[1]] = stack_targets[stack_name]
    return dict(sorted(roles.items()))


def check_sufficiency(pipeline: Target, role_id: str, deployed: Target) -> Report:
    report = Report()
    statements = role_statements(pipeline, pipeline.root, role_id)
    allowed = allowed_by([a for s in statements for a in allows(s)])
    types = set().union(*(resource_types(t) for t in deployed.rendered.values()))
    for action, needed_by in required_permissions(types).items():
        ok = allowed(action)
        report.check(
            RULE_SUFFICIENT,
            ok,
            Finding(
                pipeline.name,
                pipeline.root.file,
                f"{role_id} (deploys {deployed.name})",
                RULE_SUFFICIENT,
                f"{action} not allowed, needed by {', '.join(needed_by)}",
                "allowed, or excluded in templates/iam/handler_permissions.py",
            ),
        )
    return report


def _tag_scoped(statement: dict, target: str) -> bool:
    for operator in statement.get("Condition", {}).values():
        for key, value in operator.items():
            if key in TAG_KEYS and as_list(value) == [target]:
                return True
    return False


def _own_records(statement: dict, records: set[str]) -> bool:
    """A statement whose record-name condition lists only the target's own records (and at least one)."""
    names = statement.get("Condition", {}).get("ForAllValues:StringEquals", {}).get(derived_roles.RECORD_NAMES_KEY)
    return names is not None and set(as_list(names)) <= records and bool(as_list(names))


def _shared_service_linked_role(resource: str, writes: list[str]) -> bool:
    """Creating a service-linked role touches no target: there is one per account and service, AWS owns its
    permissions and nobody can change them (https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html)."""
    return ":role/aws-service-role/" in resource and writes == ["iam:CreateServiceLinkedRole"]


def _carries_prefix(resource: str, prefix: str) -> bool:
    return re.search(re.escape(prefix) + r"([-/:]|$)", resource) is not None


def check_isolation(pipeline: Target, role_id: str, target: str, prefix: str, records: set[str] = frozenset()) -> Report:
    """``records``: the target's own Route 53 record names."""
    report = Report()
    for index, statement in enumerate(role_statements(pipeline, pipeline.root, role_id)):
        actions = allows(statement)
        if not actions:
            continue
        label = f"{role_id} statement {statement.get('Sid') or index}"
        resources = [str(r) for r in as_list(statement.get("Resource"))]
        for resource in resources:
            if resource == "*":
                unlisted = [a for a in actions if a not in WILDCARD_RESOURCE_ACTIONS]
                report.check(
                    RULE_ISOLATED,
                    not unlisted,
                    Finding(
                        pipeline.name,
                        pipeline.root.file,
                        label,
                        RULE_ISOLATED,
                        f"Resource '*' for {_summary(unlisted)}",
                        "only templates/iam/policies.py WILDCARD_RESOURCE_ACTIONS",
                    ),
                )
                continue
            writes = [a for a in actions if not READ_VERBS.match(a.split(":", 1)[-1])]
            ok = (
                not writes
                or _carries_prefix(resource, prefix)
                or _tag_scoped(statement, target)
                or _own_records(statement, records)
                or _shared_service_linked_role(resource, writes)
            )
            report.check(
                RULE_ISOLATED,
                ok,
                Finding(
                    pipeline.name,
                    pipeline.root.file,
                    label,
                    RULE_ISOLATED,
                    f"{_summary(writes)} on {resource}",
                    f"ARNs with {prefix} or a Target={target} tag condition",
                ),
            )
    return report


def _summary(actions: list[str]) -> str:
    shown = ", ".join(actions[:3])
    return shown if len(actions) <= 3 else f"{shown} and {len(actions) - 3} more"


def check(pipeline: Target, deployed: dict[str, Target], project: str) -> Report:
    """``deployed``: target name -> its rendered Target, for every target the pipeline deploys."""
    report = Report()
    stack_targets = {f"{project}-{name}": name for name in deployed}
    for role_id, target in deploy_roles(pipeline, stack_targets).items():
        report.merge(check_sufficiency(pipeline, role_id, deployed[target]))
        env = derived_roles.Environment(project, target, deployed[target].rendered)
        report.merge(check_isolation(pipeline, role_id, target, f"{project}-{target}", set(derived_roles.record_names(env))))
    return report
