"""The pipeline's CodeBuild steps call deploy.py: every command they run is one deploy.py accepts.

The buildspecs are rendered by templates/stacks/pipeline/buildspec.py and deploy.py's flags live in deploy.py; this test
holds the two together, so renaming a flag on one side fails here rather than in a user's first release.
"""

from __future__ import annotations

import ast
import shlex

import pytest

import deploy
from templates.config import load_target
from templates.render import render
from templates.stacks.pipeline import buildspec
from tests.conftest import REPO, SAMPLE

# What CodeBuild puts in the environment of a release step (templates/stacks/pipeline/'s release actions).
ENVIRONMENT = {
    "DEPLOY_TARGET": "production",
    "IMAGE_TAG": "0123456789abcdef0123456789abcdef01234567",
    "DEPLOY_ROLE_ARN": "arn:aws-us-gov:iam::123456789012:role/shop-production-deploy",
}


def parsed(mode: str):
    line = buildspec.deploy_command(mode, "pipeline-release")
    for name, value in ENVIRONMENT.items():
        line = line.replace(f'"${name}"', shlex.quote(value))
    argv = shlex.split(line)
    assert argv[:2] == ["python", "deploy.py"]
    return deploy.parser().parse_args(argv[2:])


@pytest.mark.parametrize("mode", [buildspec.DEPLOY, buildspec.PLAN, buildspec.EXECUTE])
def test_every_release_step_is_a_command_deploy_py_accepts(mode):
    args = parsed(mode)
    assert deploy.misuse(args) is None
    assert args.target == ENVIRONMENT["DEPLOY_TARGET"] and args.image_tag == ENVIRONMENT["IMAGE_TAG"]


def test_the_steps_that_change_a_stack_confirm_the_protected_target_by_name():
    for mode in (buildspec.DEPLOY, buildspec.EXECUTE):
        args = parsed(mode)
        assert args.yes and args.confirm == ENVIRONMENT["DEPLOY_TARGET"], mode


def test_plan_and_execute_name_the_same_change_set_and_deploys_use_the_targets_role():
    plan, execute, release = parsed(buildspec.PLAN), parsed(buildspec.EXECUTE), parsed(buildspec.DEPLOY)
    assert plan.plan and plan.change_set_name == execute.execute_change_set == "pipeline-release"
    assert plan.role_arn == release.role_arn == ENVIRONMENT["DEPLOY_ROLE_ARN"]
    assert str(plan.json) == buildspec.PLAN_FILE


# The clients deploy.py's release path calls through, by the names it gives them, and their IAM service prefix.
CLIENTS = {"cfn": "cloudformation", "cloudformation": "cloudformation", "ecr": "ecr", "s3": "s3"}


def deploy_py_calls() -> set[str]:
    """Every IAM action deploy.py's code calls on CloudFormation, ECR and S3 (client methods and paginators)."""
    found = set()
    for path in sorted((REPO / "deployer").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if name not in CLIENTS:
                continue
            operation = node.func.attr
            if operation == "get_paginator":
                operation = node.args[0].value
            found.add(f"{CLIENTS[name]}:{''.join(part.capitalize() for part in operation.split('_'))}")
    return found


def test_every_call_deploy_py_makes_is_granted_to_the_pipelines_release_roles():
    """The release roles run deploy.py in CodeBuild: a call deploy.py makes on a laptop that they may not make is an
    AccessDenied in the pipeline (DeleteStack, for the ROLLBACK_COMPLETE stack of a failed first create)."""
    root = render(load_target(SAMPLE, "pipeline"))["root.json"]
    # S3's HeadObject and HeadBucket are authorised as GetObject and ListBucket (S3 User Guide, "Amazon S3 actions").
    authorised_as = {"s3:HeadObject": "s3:GetObject", "s3:HeadBucket": "s3:ListBucket"}
    calls = {authorised_as.get(call, call) for call in deploy_py_calls()}
    assert {"cloudformation:DeleteStack", "cloudformation:CreateChangeSet", "ecr:DescribeImages"} <= calls
    for role in ("StagingReleaseRole", "ProductionReleaseRole"):
        policies = root["Resources"][role]["Properties"]["Policies"]
        allowed = {action for policy in policies for s in policy["PolicyDocument"]["Statement"] for action in s["Action"]}
        assert calls - allowed == set(), role
