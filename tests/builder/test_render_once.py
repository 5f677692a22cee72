"""A build renders each environment once, however many of its parts (targets, deploy roles, preflight) need it."""

from __future__ import annotations

from collections import Counter

import pytest

import build as build_py
from templates import config as config_module
from templates import render as rendering
from templates.stacks import root
from tests.conftest import EXAMPLE, SAMPLE


@pytest.fixture
def renders(monkeypatch):
    """Environment target -> how often its templates were built since the test began."""
    counted: Counter = Counter()
    real = root.build_children

    def build_children(cfg):
        counted[cfg.target] += 1
        return real(cfg)

    monkeypatch.setattr(root, "build_children", build_children)
    rendering._environment.cache_clear()
    yield counted
    rendering._environment.cache_clear()


def build(parameters, names, output):
    """What build.py does before linting: render every target named and run the preflight over them."""
    args = build_py.parse_args(["--parameters", str(parameters), "--output", str(output), "--no-cache", *(f"--env={n}" for n in names)])
    rendered, outcome = build_py.render(args)
    return rendered, outcome["preflight"]


@pytest.mark.parametrize("parameters", [SAMPLE, EXAMPLE], ids=["shop", "fleet"])
@pytest.mark.parametrize("names", [[], ["pipeline"]], ids=["every target", "the pipeline alone"])
def test_each_environment_is_rendered_once_per_build(renders, tmp_path, parameters, names):
    rendered, report = build(parameters, names, tmp_path)
    environments = [name for name in config_module.target_names(parameters) if name != "pipeline"]
    assert dict(renders) == dict.fromkeys(environments, 1)
    assert report["checks"] > 0 and report["findings"] == []
    assert {r.target for r in rendered} == set(names or config_module.target_names(parameters))


def test_each_caller_gets_its_own_copy_of_a_shared_render(renders):
    cfg = config_module.load_target(SAMPLE, "staging")
    first = rendering.render(cfg)
    first["root.json"]["Resources"].clear()  # cfn-lint and tests change what they are given
    again = rendering.render(cfg)
    assert again["root.json"]["Resources"] and renders == {"staging": 1}
