"""An unchanged configuration's templates are reused; any change to what rendering reads renders again."""

from __future__ import annotations

import json
import shutil

import pytest

import build
from builder import render as render_module
from tests.conftest import SAMPLE


@pytest.fixture
def renders(monkeypatch) -> list[int]:
    """How many times build.py really rendered (one entry per render, the templates it wrote)."""
    calls = []
    real = render_module.render_targets

    def counting(configs, output):
        rendered = real(configs, output)
        calls.append(len(rendered))
        return rendered

    monkeypatch.setattr(render_module, "render_targets", counting)
    return calls


@pytest.fixture
def parameters(tmp_path):
    directory = tmp_path / "parameters"
    shutil.copytree(SAMPLE, directory)
    return directory


def build_dev(parameters, output, *extra) -> int:
    return build.main(["--env", "dev", "--parameters", str(parameters), "--output", str(output), "--no-lint", *extra])


def templates(output) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((output / "dev").glob("*.json"))}


def test_an_unchanged_configuration_is_not_rendered_again(parameters, tmp_path, renders):
    assert build_dev(parameters, tmp_path / "out") == 0
    first = templates(tmp_path / "out")
    assert build_dev(parameters, tmp_path / "out") == 0
    assert renders == [len(first)]
    assert templates(tmp_path / "out") == first


def test_a_changed_parameter_file_renders_again(parameters, tmp_path, renders):
    assert build_dev(parameters, tmp_path / "out") == 0
    (parameters / "dev.yaml").write_text((parameters / "dev.yaml").read_text() + "\n# a comment changes the bytes\n")
    assert build_dev(parameters, tmp_path / "out") == 0
    (parameters / "extra.yaml").write_text("{}\n")  # a new target file changes the directory's listing
    assert build_dev(parameters, tmp_path / "out") == 0
    assert len(renders) == 3


@pytest.mark.parametrize("damage", ["edit", "extra", "delete"])
def test_a_template_changed_in_the_output_renders_again_and_is_restored(parameters, tmp_path, renders, damage):
    output = tmp_path / "out"
    assert build_dev(parameters, output) == 0
    first = templates(output)
    if damage == "edit":
        (output / "dev" / "root.json").write_text("{}")
    elif damage == "extra":
        (output / "dev" / "stray.json").write_text("{}")
    else:
        (output / "dev" / "cluster.json").unlink()
    assert build_dev(parameters, output) == 0
    assert len(renders) == 2
    assert templates(output) == first


@pytest.mark.parametrize("field", ["modules", "versions"])
def test_changed_code_or_package_versions_render_again(parameters, tmp_path, renders, field):
    output = tmp_path / "out"
    assert build_dev(parameters, output) == 0
    [entry] = (output / ".cache" / "render").glob("*.entry")
    stored = json.loads(entry.read_text())
    assert "templates/stacks/service/__init__.py" in stored["modules"] and "troposphere" in stored["versions"]
    first_key = next(iter(stored[field]))
    stored[field][first_key] = "changed"
    entry.write_text(json.dumps(stored))
    assert build_dev(parameters, output) == 0
    assert len(renders) == 2


def test_a_corrupt_entry_renders_again_and_is_rewritten(parameters, tmp_path, renders):
    output = tmp_path / "out"
    assert build_dev(parameters, output) == 0
    [entry] = (output / ".cache" / "render").glob("*.entry")
    entry.write_text("{not json")
    assert build_dev(parameters, output) == 0
    assert build_dev(parameters, output) == 0
    assert len(renders) == 2


def test_no_cache_renders_again(parameters, tmp_path, renders):
    assert build_dev(parameters, tmp_path / "out") == 0
    assert build_dev(parameters, tmp_path / "out", "--no-cache") == 0
    assert len(renders) == 2


def test_a_configuration_error_is_reported_however_warm_the_cache(parameters, tmp_path, capsys):
    assert build_dev(parameters, tmp_path / "out") == 0
    (parameters / "dev.yaml").write_text("network:\n  nat_mode: sometimes\n")
    assert build_dev(parameters, tmp_path / "out") == 2
    assert "dev.yaml: network.nat_mode: 'sometimes'" in capsys.readouterr().err
