"""Shared fixtures: configurations written to a temporary parameters/ directory, and the configurations under test.

Two kinds of tests use them (docs/testing.md):

- Tests that pin exact values use the project's sample configuration, ``examples/shop/`` (``SAMPLE``, ``TARGETS``,
  ``ALL_TARGETS``, ``render_target``, ``write_parameters``), never ``parameters/``: ``parameters/`` starts as a copy of
  the sample and is the user's to replace with their own project, and the tests stay green when they do.
- Tests that hold for any configuration take the ``configured_target`` fixture: one case per target of every
  configuration under test.  By default those are ``parameters/`` and every directory under ``examples/``
  (a configuration identical to another is tested once); ``--parameters DIR`` (repeatable) names others:

    python -m pytest tests/test_invariants.py --parameters ~/my-platform/parameters
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from templates import config as config_module
from templates.config import pipeline as pipeline_config
from templates.render import render

REPO = Path(__file__).resolve().parents[1]
# The project's own parameters/: the sample until a user makes it theirs.
PROJECT_PARAMETERS = REPO / "parameters"
# The sample configuration the pinned tests and the snapshots use.
SAMPLE = REPO / "examples" / "shop"
# build.py's and deploy.py's flag for it: tests of the commands name it, since their default is parameters/.
ON_SAMPLE = ("--parameters", str(SAMPLE))
# The second, deliberately different configuration.
EXAMPLE = REPO / "examples" / "fleet"
EXAMPLES = tuple(sorted(p.parent for p in (REPO / "examples").glob("*/project.yaml")))
TARGETS = config_module.available_targets(SAMPLE)
# The pipeline target (pipeline.yaml), and every target a build of the sample renders.
PIPELINE = pipeline_config.TARGET
ALL_TARGETS = TARGETS + [PIPELINE]


def same_configuration(one: Path, other: Path) -> bool:
    """Whether two parameters directories load into equal configurations (their files may differ in comments)."""
    names = config_module.target_names(one)
    if names != config_module.target_names(other):
        return False
    try:
        return all(_load(one, name) == _load(other, name) for name in names)
    except config_module.ConfigError:
        return False


def default_configurations() -> list[Path]:
    """parameters/ and every example; parameters/ is left out while it is the sample unchanged."""
    own = [] if any(same_configuration(PROJECT_PARAMETERS, example) for example in EXAMPLES) else [PROJECT_PARAMETERS]
    return own + list(EXAMPLES)


@functools.cache
def render_target(name: str) -> dict[str, dict]:
    """A repository target rendered once per test run; callers treat it as read-only (copy to change it)."""
    return render(load_target(name))


def load_target(name: str, parameters: Path = SAMPLE):
    """An environment's Config, or the PipelineConfig for ``pipeline``."""
    return config_module.load_target(parameters, name)


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
    return yaml.safe_load((SAMPLE / name).read_text())


def make_services(count: int) -> list[dict]:
    return [{"name": f"service-{i:02d}", "route_path": f"/service-{i:02d}"} for i in range(count)]


@pytest.fixture
def write_parameters(tmp_path):
    """Write project.yaml and one target file, each the sample's with overrides merged in."""

    def write(project: dict | None = None, environment: dict | None = None, target: str = "staging") -> Path:
        directory = tmp_path / "parameters"
        directory.mkdir(exist_ok=True)
        (directory / "project.yaml").write_text(yaml.safe_dump(merge(read_yaml("project.yaml"), project or {})))
        (directory / f"{target}.yaml").write_text(yaml.safe_dump(merge(read_yaml(f"{target}.yaml"), environment or {})))
        return directory

    return write


@pytest.fixture
def make_config(write_parameters):
    """A loaded Config from the sample's parameter files with overrides merged in."""

    def make(project: dict | None = None, environment: dict | None = None, target: str = "staging"):
        return config_module.load(write_parameters(project, environment, target), target)

    return make


@pytest.fixture
def write_pipeline_parameters(tmp_path):
    """Write project.yaml, every environment file and pipeline.yaml, each the sample's with overrides merged in."""

    def write(project: dict | None = None, pipeline: dict | None = None) -> Path:
        directory = tmp_path / "pipeline-parameters"
        directory.mkdir(exist_ok=True)
        (directory / "project.yaml").write_text(yaml.safe_dump(merge(read_yaml("project.yaml"), project or {})))
        for target in TARGETS:
            (directory / f"{target}.yaml").write_text((SAMPLE / f"{target}.yaml").read_text())
        (directory / "pipeline.yaml").write_text(yaml.safe_dump(merge(read_yaml("pipeline.yaml"), pipeline or {})))
        return directory

    return write


@pytest.fixture
def make_pipeline_config(write_pipeline_parameters):
    """A loaded PipelineConfig from the sample's parameter files with overrides merged in."""

    def make(project: dict | None = None, pipeline: dict | None = None):
        return pipeline_config.load_pipeline(write_pipeline_parameters(project, pipeline))

    return make


# --- any configuration: the --parameters option -------------------------------------------------


def pytest_addoption(parser):
    parser.addoption(
        "--parameters",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a parameters directory (project.yaml, <target>.yaml, pipeline.yaml) whose targets the invariant tests "
        "check; repeatable; default: parameters/ and every configuration under examples/",
    )


@dataclass(frozen=True)
class ConfiguredTarget:
    """One target of one configuration directory, loaded and rendered once per test run."""

    parameters: Path
    name: str

    @property
    def id(self) -> str:
        return f"{self.parameters.name}/{self.name}"

    @property
    def config(self):
        return _load(self.parameters, self.name)

    @property
    def rendered(self) -> dict[str, dict]:
        """File name -> template; read-only (copy to change it)."""
        return _render(self.parameters, self.name)

    @property
    def deployed(self) -> dict[str, dict]:
        """``rendered`` with each service's stack as CloudFormation sees it (``helpers.as_deployed``)."""
        from tests.templates.helpers import as_deployed

        return as_deployed(self.rendered)

    @property
    def is_pipeline(self) -> bool:
        return isinstance(self.config, pipeline_config.PipelineConfig)


@functools.cache
def _load(parameters: Path, name: str):
    return config_module.load_target(parameters, name)


@functools.cache
def _render(parameters: Path, name: str) -> dict[str, dict]:
    return render(_load(parameters, name))


def configured_targets(config) -> list[ConfiguredTarget]:
    directories = [Path(d).resolve() for d in config.getoption("parameters")] or default_configurations()
    return [ConfiguredTarget(d, name) for d in directories for name in config_module.target_names(d)]


def pytest_generate_tests(metafunc):
    """``configured_target``: every target of every configuration; ``configured_environment``: environments only."""
    for fixture, keep in (
        ("configured_target", lambda t: True),
        ("configured_environment", lambda t: t.name != PIPELINE or not pipeline_config.has_pipeline(t.parameters)),
    ):
        if fixture in metafunc.fixturenames:
            cases = [t for t in configured_targets(metafunc.config) if keep(t)]
            metafunc.parametrize(fixture, cases, ids=[t.id for t in cases])
    if "configured_pipeline" in metafunc.fixturenames:
        directories = metafunc.config.getoption("parameters") or default_configurations()
        cases = [ConfiguredTarget(Path(d).resolve(), PIPELINE) for d in directories]
        cases = [t for t in cases if pipeline_config.has_pipeline(t.parameters)]
        metafunc.parametrize("configured_pipeline", cases, ids=[t.id for t in cases])
