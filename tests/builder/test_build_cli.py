"""build.py: the lint cache end to end, --json, unknown regions, --jobs, and a further check stage."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import build
from builder import lint as lint_module
from builder.render import build as build_all
from builder.render import load_targets
from builder.stages import Finding, in_process
from tests.builder.conftest import add_stray_topic
from tests.conftest import ON_SAMPLE, REPO, SAMPLE

# Runs build.main in a fresh interpreter and reports which cfn-lint and troposphere modules it imported.
PROBE = """
import json, sys
import build
code = build.main(sys.argv[1:])
imported = lambda package: sorted(m for m in sys.modules if m.split(".")[0] == package)
print(json.dumps({"exit": code, "cfnlint": imported("cfnlint"), "troposphere": imported("troposphere")}))
"""


def probe(*args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, *ON_SAMPLE, *args], cwd=REPO, capture_output=True, text=True, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_an_unchanged_rebuild_reuses_templates_and_findings_without_importing_troposphere_or_cfn_lint(tmp_path, monkeypatch):
    output, first_json, second_json = tmp_path / "build", tmp_path / "first.json", tmp_path / "second.json"
    first = probe("--env", "dev", "--jobs", "1", "--output", str(output), "--json", str(first_json))
    assert first["exit"] == 0 and "cfnlint.core" in first["cfnlint"] and first["troposphere"]
    second = probe("--env", "dev", "--output", str(output), "--json", str(second_json))
    assert second == {"exit": 0, "cfnlint": [], "troposphere": []}  # neither rendered nor linted again
    cold, warm = json.loads(first_json.read_text()), json.loads(second_json.read_text())
    assert not any(t["stages"]["lint"]["cached"] for t in cold["templates"])
    assert all(t["stages"]["lint"]["cached"] for t in warm["templates"])
    assert [t["file"] for t in warm["templates"]] == [t["file"] for t in cold["templates"]]
    assert warm["findings"] == cold["findings"] == []

    linted = []  # how many templates each run below hands to cfn-lint

    def record(todo, regions, jobs, loader=None):
        linted.append(len(todo))
        return lambda: [([], 0.0) for _ in todo]

    monkeypatch.setattr(lint_module, "_lint_all", record)
    assert build.main([*ON_SAMPLE, "--env", "dev", "--output", str(output)]) == 0
    assert build.main([*ON_SAMPLE, "--env", "dev", "--output", str(output), "--no-cache"]) == 0
    assert linted == [len(cold["templates"])]  # nothing while cached; everything again with --no-cache


def test_json_records_findings_and_per_template_figures(tmp_path, render_edited, capsys):
    render_edited(add_stray_topic)
    report = tmp_path / "reports" / "build.json"
    assert build.main([*ON_SAMPLE, "--env", "dev", "--output", str(tmp_path / "out"), "--json", str(report), "--no-cache"]) == 1
    document = json.loads(report.read_text())
    assert document["exit_code"] == 1 and document["errors"] == [] and document["regions"] == ["us-east-1"]
    [finding] = document["findings"]
    assert finding == {
        "stage": "lint",
        "target": "dev",
        "file": "dev/cluster.json",
        "path": "Resources/Stray/Properties/Colour",
        "rule": "E3002",
        "level": "error",
        "message": finding["message"],
    }
    assert "Colour" in finding["message"]
    templates = {t["file"]: t for t in document["templates"]}
    assert set(templates) == {f"dev/{p.name}" for p in (tmp_path / "out" / "dev").glob("*.json")}
    cluster = templates["dev/cluster.json"]
    assert cluster["findings"] == 1 and cluster["target"] == "dev"
    assert cluster["resources"] == len(json.loads((tmp_path / "out" / "dev" / "cluster.json").read_text())["Resources"])
    assert cluster["bytes"] == (tmp_path / "out" / "dev" / "cluster.json").stat().st_size
    assert cluster["stages"]["lint"]["seconds"] > 0 and cluster["stages"]["lint"]["cached"] is False
    assert document["seconds"]["total"] >= document["seconds"]["lint"] > 0


def test_json_records_a_configuration_error(tmp_path):
    (tmp_path / "project.yaml").write_text("name: shop\nservices:\n  - name: api\n    route_path: /api\n    cpu: 3\n")
    (tmp_path / "staging.yaml").write_text("{}\n")
    report = tmp_path / "build.json"
    assert build.main(["--parameters", str(tmp_path), "--output", str(tmp_path / "out"), "--json", str(report)]) == 2
    document = json.loads(report.read_text())
    assert document["exit_code"] == 2 and document["templates"] == [] and document["findings"] == []
    assert len(document["errors"]) == 1 and "services[0].cpu: 3 is not accepted" in document["errors"][0]


def test_an_unknown_region_exits_2_with_one_line_saying_how_to_list_the_known_ones(tmp_path):
    result = subprocess.run(
        [sys.executable, "build.py", *ON_SAMPLE, "--env", "dev", "--region", "eu-west-9", "--output", str(tmp_path / "out"),
         "--json", str(tmp_path / "r.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: --region eu-west-9: not a region cfn-lint ")
    assert "(did you mean eu-west-3, eu-west-2, eu-west-1?)" in line and "from cfnlint.helpers import REGIONS; print(*REGIONS)" in line
    assert json.loads((tmp_path / "r.json").read_text())["errors"] == [line.removeprefix("error: ")]


def test_the_listing_command_the_region_error_names_works():
    command = "from cfnlint.helpers import REGIONS; print(*REGIONS)"
    listed = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, check=True)
    assert {"us-east-1", "eu-west-1"} <= set(listed.stdout.split())


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_jobs_must_be_a_positive_whole_number(value):
    command = [sys.executable, "build.py", *ON_SAMPLE, "--jobs", value, "--no-lint"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"--jobs: '{value}' is not accepted; expected a whole number of 1 or more" in result.stderr


def test_help_documents_the_new_flags():
    result = subprocess.run([sys.executable, "build.py", "--help"], cwd=REPO, capture_output=True, text=True, check=True)
    for flag in ("--jobs", "--no-cache", "--json"):
        assert flag in result.stdout


def test_a_further_stage_runs_beside_lint_and_its_findings_follow_in_stage_order(tmp_path):
    def resource_count(rendered):
        count = len(rendered.template.get("Resources", {}))
        return [Finding(str(rendered.path), "Resources", "X1", f"{count} resources", "info")] if count > 20 else []

    def names(rendered):
        return [Finding(str(rendered.path), "", "X2", rendered.path.name, "info")]

    result = build_all(load_targets(SAMPLE, ["dev"]), tmp_path, [in_process("count", resource_count), in_process("names", names)])
    assert set(result.stage_seconds) == {"count", "names"}
    for report in result.reports:
        assert set(report.checks) == {"count", "names"}
        assert [f.rule for f in report.findings] == ["X1"] * (report.resources > 20) + ["X2"]
    assert result.findings == [f for r in result.reports for name in ("count", "names") for f in r.checks[name].findings]


def test_an_output_that_cannot_be_written_is_exit_2_naming_the_path(tmp_path, capsys):
    """A full disk or an output that is a file is no lint finding: exit 2, the path, and no half-written template."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert build.main([*ON_SAMPLE, "--env", "dev", "--no-lint", "--output", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{blocker / 'out' / 'dev'}: cannot be written (Not a directory); expected a writable --output" in err and "Traceback" not in err
