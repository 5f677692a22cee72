"""The build inputs the pipeline reads exist in the repository the configuration sits in."""

from __future__ import annotations

import shutil

from builder.preflight import build_inputs
from templates.config import load_pipeline
from tests.conftest import SAMPLE


def repository(tmp_path, missing: str = ""):
    """A repository holding parameters/ (the sample's) and every service's sources but ``missing``."""
    shutil.copytree(SAMPLE, tmp_path / "parameters")
    config = load_pipeline(tmp_path / "parameters")
    for _, _, path in build_inputs.inputs(config):
        if path in (missing, "."):
            continue
        target = tmp_path / path
        if path.endswith("Dockerfile"):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("FROM scratch\n")
        else:
            target.mkdir(parents=True, exist_ok=True)
    return config, tmp_path / "parameters"


def test_every_input_present_is_no_finding(tmp_path):
    config, parameters = repository(tmp_path)
    report = build_inputs.check(config, parameters)
    assert report.findings == [] and report.checks[build_inputs.RULE] == len(build_inputs.inputs(config))


def test_a_missing_dockerfile_is_a_finding_naming_its_key(tmp_path):
    config, parameters = repository(tmp_path, missing="services/auth-service/Dockerfile")
    [finding] = build_inputs.check(config, parameters).findings
    assert str(finding) == (
        f"pipeline: project.yaml: services[1].dockerfile: build-input: 'services/auth-service/Dockerfile' "
        f"(not in {tmp_path}) (limit: a path in the repository)"
    )


def test_a_configuration_kept_apart_from_its_repository_is_not_checked(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "elsewhere")
    assert build_inputs.check(load_pipeline(tmp_path / "elsewhere"), tmp_path / "elsewhere").checks == {}


def test_an_example_stands_for_its_own_repositorys_root():
    from tests.conftest import EXAMPLE

    config = load_pipeline(EXAMPLE)
    report = build_inputs.check(config, EXAMPLE)
    assert report.findings == [] and report.checks[build_inputs.RULE] == len(build_inputs.inputs(config))
