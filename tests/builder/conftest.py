"""Fixtures for build.py's tests."""

from __future__ import annotations

import pytest

from builder import render as render_module
from templates import render as rendering


@pytest.fixture
def render_edited(monkeypatch):
    """Make build.py render templates as usual, then apply ``edit(rendered)`` to each target's templates:
    how a test plants the one mistake a stage must find."""

    def install(edit):
        real_render = rendering.render

        def render(cfg):
            rendered = real_render(cfg)
            edit(rendered)
            return rendered

        monkeypatch.setattr(render_module.rendering, "render", render)

    return install


def add_stray_topic(rendered: dict) -> None:
    """A resource with a property its type does not have: one cfn-lint error (E3002)."""
    rendered["cluster.json"]["Resources"]["Stray"] = {"Type": "AWS::SNS::Topic", "Properties": {"Colour": "blue"}}
