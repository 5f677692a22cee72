"""Each generated build step, run under bash with stub aws, docker and test commands: does it fail when it should?"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from templates.stacks.pipeline import buildspec

STUBS = {
    # describe-images succeeds for the tags listed in PRESENT; batch-get-image fails when UNREADABLE is set.
    "aws": """#!/bin/bash
echo "aws $*" >> "$STUB_LOG"
case "$2" in
  describe-images) for tag in $PRESENT; do [[ "$*" == *"imageTag=$tag"* ]] && exit 0; done; exit 254 ;;
  batch-get-image) [ -n "${UNREADABLE:-}" ] && exit 254; echo "{manifest}" ;;
esac
exit 0
""",
    "docker": """#!/bin/bash
echo "docker $1 $(pwd)" >> "$STUB_LOG"
[ "$1" = build ] && exit "${BUILD_STATUS:-0}"
[ "$1" = push ] && [[ "$*" == *":$IMAGE_TAG" ]] && exit "${PUSH_STATUS:-0}"
exit 0
""",
    # Stands for pytest (python -m pytest ...) and for a service's own test command.
    "python": """#!/bin/bash
echo "tests $(pwd)" >> "$STUB_LOG"
exit "${TEST_STATUS:-0}"
""",
}


@pytest.fixture
def stubs(tmp_path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    for name, text in STUBS.items():
        path = directory / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "repo" / "services" / "api-service").mkdir(parents=True)
    return tmp_path


def run_step(cfg, stubs: Path, **env: str) -> tuple[int, list[str]]:
    service = cfg.project.services[0]
    block = buildspec.retag_or_build(cfg, service)
    log = stubs / "calls.log"
    log.write_text("")
    variables = {
        "PATH": f"{stubs / 'bin'}:/usr/bin:/bin",
        "STUB_LOG": str(log),
        "IMAGE_TAG": "0123456789abcdef0123456789abcdef01234567",
        "SOURCE_TAG": "src-abc",
        "REPOSITORY_NAME": "shop/api-service",
        "REPOSITORY_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api-service",
        "PRESENT": "",
        **env,
    }
    # What the step leaves behind for the commands after it: the directory it runs in must not change.
    script = block + 'status=$?\necho "after $(pwd)" >> "$STUB_LOG"\nexit $status\n'
    result = subprocess.run(["bash", "-c", script], cwd=stubs / "repo", env=variables, capture_output=True, text=True, check=False)
    return result.returncode, log.read_text().splitlines()


def verbs(calls: list[str]) -> list[str]:
    return [" ".join(c.split()[:2]) for c in calls]


@pytest.fixture
def cfg(make_pipeline_config):
    return make_pipeline_config(pipeline={"build": {"test_commands": []}})


def test_all_good_tests_builds_and_pushes_both_tags(cfg, stubs):
    status, calls = run_step(cfg, stubs)
    assert status == 0
    assert verbs(calls) == [
        "aws ecr",
        "aws ecr",
        "tests " + str(stubs / "repo"),
        "docker build",
        "docker push",
        "docker push",
        "after " + str(stubs / "repo"),
    ]


def test_a_failing_unit_test_fails_the_step_before_any_image_is_built(cfg, stubs):
    status, calls = run_step(cfg, stubs, TEST_STATUS="1")
    assert status != 0 and not any(c.startswith("docker") for c in calls)


def test_a_failing_docker_build_fails_the_step_and_pushes_nothing(cfg, stubs):
    status, calls = run_step(cfg, stubs, BUILD_STATUS="1")
    assert status != 0 and not any(c.startswith("docker push") for c in calls)


def test_a_failing_push_of_the_commit_tag_fails_the_step(cfg, stubs):
    status, _ = run_step(cfg, stubs, PUSH_STATUS="1")
    assert status != 0


def test_the_commit_already_has_an_image_so_nothing_is_done(cfg, stubs):
    status, calls = run_step(cfg, stubs, PRESENT="0123456789abcdef0123456789abcdef01234567")
    assert status == 0 and not any(c.startswith(("docker", "tests")) for c in calls)


def test_unchanged_sources_add_the_commit_tag_to_the_existing_image(cfg, stubs):
    status, calls = run_step(cfg, stubs, PRESENT="src-abc")
    assert status == 0
    assert any(c.startswith("aws ecr put-image") and "--image-tag 0123456789abcdef" in c for c in calls)
    assert not any(c.startswith(("docker", "tests")) for c in calls)


def test_the_retag_fails_when_the_source_image_cannot_be_read(cfg, stubs):
    status, calls = run_step(cfg, stubs, PRESENT="src-abc", UNREADABLE="1")
    assert status != 0 and not any("put-image" in c for c in calls)


def test_a_service_without_python_tests_passes_by_default(cfg, stubs):
    status, calls = run_step(cfg, stubs, TEST_STATUS="5")  # pytest: no tests collected
    assert status == 0 and any(c.startswith("docker push") for c in calls)


def test_an_own_test_command_fails_on_any_error_and_runs_in_its_directory_only(make_pipeline_config, stubs):
    own = [{"service": "api-service", "command": "python run-my-tests", "directory": "services/api-service"}]
    cfg = make_pipeline_config(pipeline={"build": {"test_commands": own}})
    status, calls = run_step(cfg, stubs)
    root = str(stubs / "repo")
    assert status == 0
    assert f"tests {root}/services/api-service" in calls
    assert f"docker build {root}" in calls and calls[-1] == f"after {root}"
    status, _ = run_step(cfg, stubs, TEST_STATUS="5")
    assert status != 0  # an own command's exit status is taken as it is


def test_the_pipeline_tags_images_with_the_full_commit_id(cfg):
    spec = buildspec.service(cfg, cfg.project.services[0], "shop/api-service")
    assert 'IMAGE_TAG="${IMAGE_TAG:-$CODEBUILD_RESOLVED_SOURCE_VERSION}"' in spec["phases"]["pre_build"]["commands"]


def test_the_plan_step_exports_a_link_to_its_own_build_log(cfg):
    command = buildspec.deploy(cfg, buildspec.PLAN, "pipeline-release")["phases"]["build"]["commands"][-1]
    variables = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "eu-west-1",
        "CODEBUILD_BUILD_ARN": "arn:aws:codebuild:eu-west-1:123456789012:build/shop-pipeline-plan-production:b1e6",
        "CODEBUILD_BUILD_ID": "shop-pipeline-plan-production:b1e6",
    }
    result = subprocess.run(["bash", "-c", command + '\necho "$PLAN_URL"'], env=variables, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == (
        "https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/shop-pipeline-plan-production"
        "/build/shop-pipeline-plan-production%3Ab1e6/log?region=eu-west-1"
    )
