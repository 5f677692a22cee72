"""The preflight stage in build.py, and the configuration errors that keep names AWS refuses out of it."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

import build
from builder.preflight import names as name_rule
from builder.preflight.resolve import Target
from builder.preflight.stage import resource_types_only
from templates import config as config_module
from templates.config import load_target
from templates.iam.handler_permissions import resource_types
from templates.render import render
from tests.conftest import ON_SAMPLE, REPO, SAMPLE


def parameters_with(tmp_path, project_name: str, target: str):
    project = yaml.safe_load((SAMPLE / "project.yaml").read_text())
    project["name"] = project_name
    (tmp_path / "project.yaml").write_text(yaml.safe_dump(project))
    (tmp_path / f"{target}.yaml").write_text((SAMPLE / "staging.yaml").read_text())
    return tmp_path


def run_build(parameters, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "build.py", "--parameters", str(parameters), "--output", str(parameters / "out"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_32_character_project_with_a_20_character_target_is_a_configuration_error(tmp_path):
    result = run_build(parameters_with(tmp_path, "p" * 32, "t" * 20), "--no-lint")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert f"{'t' * 20}.yaml: name {'p' * 32!r} (32 characters) with target {'t' * 20!r} (20)" in line
    assert "Lambda function name" in line and "over AWS's limit of 64" in line
    assert "shorten 'name' in project.yaml or rename the target file" in line


def test_a_target_file_that_cannot_become_a_stack_name_is_a_configuration_error(tmp_path):
    result = run_build(parameters_with(tmp_path, "shop", "qa_eu"), "--no-lint")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "qa_eu.yaml: the target name 'qa_eu' makes the stack name 'shop-qa_eu', which CloudFormation refuses" in result.stderr


@pytest.mark.parametrize(("project_length", "target_length"), [(32, 17), (29, 20)])
def test_the_longest_accepted_names_render_names_aws_accepts(tmp_path, project_length, target_length):
    # The configuration check and the preflight's name rule agree at the boundary: 49 characters together.
    target = "t" * target_length
    cfg = config_module.load(parameters_with(tmp_path, "p" * project_length, target), target)
    report = name_rule.check(Target(target, cfg.stack_prefix, render(cfg)))
    assert report.findings == [] and report.checks[name_rule.RULE] > 1
    with pytest.raises(config_module.ConfigError):
        config_module.load(parameters_with(tmp_path, "p" * project_length + "p", target), target)


def test_a_preflight_finding_fails_the_build_with_one_line_naming_target_template_resource_rule_value_and_limit(
    tmp_path, render_edited, capsys
):
    def give_the_canary_a_long_name(rendered):
        function = rendered["health-check.json"]["Resources"]["CanaryFunction"]["Properties"]
        function["FunctionName"] = {"Fn::Sub": "${AWS::StackName}-" + "x" * 60}

    render_edited(give_the_canary_a_long_name)
    assert build.main([*ON_SAMPLE, "--env", "dev", "--output", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "preflight: " in captured.out
    assert "dev: health-check.json: CanaryFunction: name: 'shop-dev-HealthCheckStack-" in captured.err
    assert "(limit: at most 64 characters)" in captured.err


def test_no_preflight_skips_the_stage(tmp_path, capsys):
    assert build.main([*ON_SAMPLE, "--env", "dev", "--output", str(tmp_path), "--no-preflight"]) == 0
    assert "preflight" not in capsys.readouterr().out


@pytest.mark.parametrize("name", ["staging", "production"])
def test_an_environment_reduced_to_its_types_has_the_types_of_its_full_render(name):
    full = set().union(*(resource_types(t) for t in render(load_target(SAMPLE, name)).values()))
    assert set().union(*(resource_types(t) for t in resource_types_only(SAMPLE, name).values())) == full
