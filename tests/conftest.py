"""Shared fixtures: configurations written to a temporary parameters/ directory."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import pytest
import yaml

from templates import config as config_module
from templates import pipeline_config, targets

REPO = Path(__file__).resolve().parents[1]
PARAMETERS = REPO / "parameters"
TARGETS = config_module.available_targets(PARAMETERS)
# The pipeline target (parameters/pipeline.yaml), and every target a build renders.
PIPELINE = pipeline_config.TARGET
ALL_TARGETS = TARGETS + [PIPELINE]


@functools.cache
def render_target(name: str) -> dict[str, dict]:
    """A repository target rendered once per test run; callers treat it as read-only (copy to change it)."""
    return targets.render(load_target(name))


def load_target(name: str, parameters: Path = PARAMETERS):
    """An environment's Config, or the PipelineConfig for ``pipeline``."""
    return targets.load_target(parameters, name)


def merge(base: dict, override: dict) -> dict:
    """Deep-merge ``override`` into a copy of ``base``; a None value deletes the key."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(name: str) -> dict:
    return yaml.safe_load((PARAMETERS / name).read_text())


def make_services(count: int) -> list[dict]:
    return [{"name": f"service-{i:02d}", "route_path": f"/service-{i:02d}"} for i in range(count)]


@pytest.fixture
def write_parameters(tmp_path):
    """Write project.yaml and one target file, each the repository's own with overrides merged in."""

    def write(project: dict | None = None, environment: dict | None = None, target: str = "staging") -> Path:
        directory = tmp_path / "parameters"
        directory.mkdir(exist_ok=True)
        (directory / "project.yaml").write_text(yaml.safe_dump(merge(read_yaml("project.yaml"), project or {})))
        (directory / f"{target}.yaml").write_text(yaml.safe_dump(merge(read_yaml(f"{target}.yaml"), environment or {})))
        return directory

    return write


@pytest.fixture
def make_config(write_parameters):
    """A loaded Config from the repository's parameter files with overrides merged in."""

    def make(project: dict | None = None, environment: dict | None = None, target: str = "staging"):
        return config_module.load(write_parameters(project, environment, target), target)

    return make


@pytest.fixture
def write_pipeline_parameters(tmp_path):
    """Write project.yaml, every environment file and pipeline.yaml, each the repository's own with overrides merged in."""

    def write(project: dict | None = None, pipeline: dict | None = None) -> Path:
        directory = tmp_path / "pipeline-parameters"
        directory.mkdir(exist_ok=True)
        (directory / "project.yaml").write_text(yaml.safe_dump(merge(read_yaml("project.yaml"), project or {})))
        for target in TARGETS:
            (directory / f"{target}.yaml").write_text((PARAMETERS / f"{target}.yaml").read_text())
        (directory / "pipeline.yaml").write_text(yaml.safe_dump(merge(read_yaml("pipeline.yaml"), pipeline or {})))
        return directory

    return write


@pytest.fixture
def make_pipeline_config(write_pipeline_parameters):
    """A loaded PipelineConfig from the repository's parameter files with overrides merged in."""

    def make(project: dict | None = None, pipeline: dict | None = None):
        return pipeline_config.load_pipeline(write_pipeline_parameters(project, pipeline))

    return make
