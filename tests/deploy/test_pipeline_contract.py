"""The pipeline's CodeBuild steps call deploy.py: every command they run is one deploy.py accepts.

The buildspecs are rendered by templates/stacks/pipeline/buildspec.py and deploy.py's flags live in deploy.py; this test
holds the two together, so renaming a flag on one side fails here rather than in a user's first release.
"""

from __future__ import annotations

import shlex

import pytest

import deploy
from templates.stacks.pipeline import buildspec

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
