"""build.py: rendering, determinism, lint findings, configuration errors, limits."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import build
from builder import render as render_module
from templates.config import load_target, target_names
from templates.render import to_json
from templates.stacks import load_balancer
from tests.builder.conftest import add_stray_topic
from tests.conftest import ALL_TARGETS, ON_SAMPLE, PIPELINE, REPO, SAMPLE, TARGETS


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    output = tmp_path_factory.mktemp("build")
    # cfn-lint's verdict alone: the preflight stage has its own tests (test_preflight_*.py, tests/test_invariants.py).
    assert build.main([*ON_SAMPLE, "--output", str(output), "--no-preflight"]) == 0
    return output


def files(directory) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*.json"))}


def test_every_target_is_rendered_with_zero_findings(built, capsys):
    rendered = files(built)
    assert {name.split("/")[0] for name in rendered} == set(ALL_TARGETS)  # every environment, and the pipeline
    assert all(name.endswith(".json") for name in rendered)


def test_a_second_build_gives_identical_bytes(built, tmp_path):
    assert build.main([*ON_SAMPLE, "--output", str(tmp_path), "--no-lint"]) == 0
    assert files(tmp_path) == files(built)


def test_env_renders_one_target(tmp_path, capsys):
    assert build.main([*ON_SAMPLE, "--env", "dev", "--output", str(tmp_path), "--no-lint"]) == 0
    assert {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")} == {"dev"}  # .cache holds the build's caches
    table = capsys.readouterr().out
    assert "dev/root.json" in table and "resources" in table


def test_stale_templates_are_removed(tmp_path):
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "old-stack.json").write_text("{}")
    assert build.main([*ON_SAMPLE, "--env", "dev", "--output", str(tmp_path), "--no-lint"]) == 0
    assert not (tmp_path / "dev" / "old-stack.json").exists()


def test_a_lint_finding_fails_the_build_naming_file_resource_rule_and_message(tmp_path, render_edited, capsys):
    render_edited(add_stray_topic)
    assert build.main([*ON_SAMPLE, "--env", "dev", "--output", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert re.search(r"dev/cluster\.json: Resources/Stray/Properties/Colour: E3002 \(error\): .*Colour", err), err


def test_configuration_error_exits_2_with_one_line_each_and_no_traceback(tmp_path):
    (tmp_path / "project.yaml").write_text("name: shop\nservices:\n  - name: api\n    route_path: /api\n    cpu: 3\n")
    (tmp_path / "staging.yaml").write_text("network:\n  nat_mode: sometimes\n")
    result = subprocess.run(
        [sys.executable, "build.py", "--parameters", str(tmp_path), "--output", str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert len(lines) == 2
    assert lines[0].endswith("services[0].cpu: 3 is not accepted; expected one of 256, 512, 1024, 2048, 4096, 8192, 16384")
    assert "staging.yaml: network.nat_mode: 'sometimes'" in lines[1]


def test_help_documents_every_flag():
    result = subprocess.run([sys.executable, "build.py", "--help"], cwd=REPO, capture_output=True, text=True, check=True)
    for flag in ("--env", "--parameters", "--output", "--region", "--no-lint", "--no-preflight"):
        assert flag in result.stdout


# No account id, region or partition-specific ARN may be baked into a template.
LITERALS = [
    re.compile(r"arn:aws[:-]"),
    re.compile(r"\b(us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov)-(north|south|east|west|central|northeast|southeast|northwest|southwest)-\d\b"),
    re.compile(r"(?<![\d.])\d{12}(?![\d.])"),
]


def configured_values(target: str) -> list[str]:
    """ARNs the target's own parameter file supplies (a certificate, and its id, from which the template rebuilds
    the ARN in the stack's own partition, region and account): the user's data, not the templates'."""
    if target not in TARGETS:
        return []
    certificate = load_target(SAMPLE, target).environment.load_balancer.certificate_arn
    return [certificate, certificate.rsplit("/", 1)[1]] if certificate else []


def test_no_template_contains_a_literal_arn_region_or_account(built):
    for name, content in files(built).items():
        template = json.loads(content)
        # Data looked up by region (the ELB log-delivery accounts) and the condition that asks for its keys: not literals.
        template.pop("Mappings", None)
        template.get("Conditions", {}).pop(load_balancer.HAS_LEGACY_LOG_DELIVERY, None)
        text = json.dumps(template)
        for value in configured_values(name.split("/", 1)[0]):
            text = text.replace(value, "")
        for pattern in LITERALS:
            assert not pattern.search(text), f"{name}: {pattern.pattern} matches {pattern.search(text).group(0)!r}"


# CloudFormation's limits with 60% headroom are a preflight rule: tests/builder/test_preflight_cloudformation.py.


def test_the_repository_configuration_loads_for_every_target():
    assert [c.target for c in render_module.load_targets(SAMPLE, [])] == ALL_TARGETS


def test_written_json_is_canonical(built):
    for name, content in files(built).items():
        assert content.decode() == to_json(json.loads(content)), name


def test_env_pipeline_renders_the_pipeline_target(tmp_path, capsys):
    assert build.main([*ON_SAMPLE, "--env", PIPELINE, "--output", str(tmp_path), "--no-lint"]) == 0
    assert {p.name for p in (tmp_path / PIPELINE).iterdir()} == {"root.json", "ecr.json"}
    assert f"{PIPELINE}/root.json" in capsys.readouterr().out


def test_the_pipeline_is_built_only_when_its_file_exists(tmp_path):
    for name in ["project.yaml", *[f"{t}.yaml" for t in TARGETS]]:
        (tmp_path / name).write_text((SAMPLE / name).read_text())
    assert PIPELINE not in target_names(tmp_path)
    (tmp_path / "pipeline.yaml").write_text((SAMPLE / "pipeline.yaml").read_text())
    assert target_names(tmp_path) == TARGETS + [PIPELINE]


def test_a_pipeline_configuration_error_exits_2_naming_the_file_and_key(tmp_path):
    for name in ["project.yaml", *[f"{t}.yaml" for t in TARGETS]]:
        (tmp_path / name).write_text((SAMPLE / name).read_text())
    bad = "source:\n  repository: org/shop\necr:\n  keep_tagged_images: 0\napproval:\n  timeout_minutes: 2\n"
    (tmp_path / "pipeline.yaml").write_text(bad)
    result = subprocess.run(
        [sys.executable, "build.py", "--parameters", str(tmp_path), "--env", PIPELINE, "--no-lint", "--output", str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "pipeline.yaml: approval.timeout_minutes: 2 is not accepted; expected an integer from 5 to 86400" in result.stderr
    assert "pipeline.yaml: ecr.keep_tagged_images: 0 is not accepted; expected an integer from 1 to 1000" in result.stderr


def test_a_protected_target_serving_plain_http_is_built_with_a_warning(tmp_path, capsys):
    parameters = tmp_path / "parameters"
    parameters.mkdir()
    (parameters / "project.yaml").write_text((SAMPLE / "project.yaml").read_text())
    (parameters / "prod.yaml").write_text("protected: true\nload_balancer:\n  plain_http: true\n")
    assert build.main(["--parameters", str(parameters), "--output", str(tmp_path / "out"), "--no-lint"]) == 0
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert "prod: load_balancer.plain_http is true" in warning


def test_a_target_past_a_quota_leaves_no_target_written_and_names_each_one(tmp_path, capsys):
    """The other targets render fine: written before the failing one, they would be half of a build."""
    parameters = tmp_path / "parameters"
    parameters.mkdir()
    services = "".join(f"  - {{name: svc-{i:02d}, route_path: /s{i}}}\n" for i in range(80))
    (parameters / "project.yaml").write_text(f"name: shop\nservices:\n{services}")
    (parameters / "dev.yaml").write_text("protected: false\n")
    (parameters / "qa.yaml").write_text("protected: false\n")
    output = tmp_path / "out"
    assert build.main(["--parameters", str(parameters), "--no-lint", "--output", str(output)]) == 2
    lines = capsys.readouterr().err.splitlines()[1:]
    assert [line.strip().split(":", 1)[0] for line in lines] == ["dev", "qa"], lines
    assert all("a template would pass a CloudFormation quota" in line for line in lines)
    assert not output.exists() or list(output.rglob("*.json")) == []
