"""The preflight stage of build.py: every rule over the rendered targets, as plain data a cache can keep."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from builder.preflight import run
from builder.stages import Rendered
from templates.config import load_target
from templates.render import render_environment


def check_rendered(configs: list, rendered: Sequence[Rendered], parameters: Path) -> dict:
    """Checks made, findings (one line each) and seconds taken, over every target of one build."""
    started = time.perf_counter()
    by_target: dict[str, dict[str, dict]] = {}
    for item in rendered:
        by_target.setdefault(item.target, {})[item.path.name] = item.template
    report = run(by_target, configs, lambda name: resource_types_only(parameters, name), parameters)
    return {
        "checks": sum(report.checks.values()),
        "findings": [str(finding) for finding in report.findings],
        "seconds": round(time.perf_counter() - started, 3),
    }


def resource_types_only(parameters: Path, name: str) -> dict[str, dict]:
    """An environment the build did not render (``--env pipeline``), reduced to its resource types: the deploy-role
    rule needs only those. The pipeline's deploy roles rendered it already in this process; that render is reused."""
    rendered = render_environment(load_target(parameters, name))
    return {
        file: {"Resources": {lid: {"Type": body["Type"]} for lid, body in template.get("Resources", {}).items()}}
        for file, template in rendered.items()
    }
