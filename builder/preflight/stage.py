"""The preflight stage of build.py: every rule over the rendered targets, as plain data a cache can keep."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from builder.preflight import run
from builder.stages import Rendered
from templates import names, root, targets


def check_rendered(configs: list, rendered: Sequence[Rendered], parameters: Path) -> dict:
    """Checks made, findings (one line each) and seconds taken, over every target of one build."""
    started = time.perf_counter()
    by_target: dict[str, dict[str, dict]] = {}
    for item in rendered:
        by_target.setdefault(item.target, {})[item.path.name] = item.template
    report = run(by_target, configs, lambda name: resource_types_only(parameters, name))
    return {
        "checks": sum(report.checks.values()),
        "findings": [str(finding) for finding in report.findings],
        "seconds": round(time.perf_counter() - started, 3),
    }


def resource_types_only(parameters: Path, name: str) -> dict[str, dict]:
    """An environment the build did not render (``--env pipeline``), reduced to its resource types.

    The deploy-role rule needs only the types; skipping troposphere's serialisation halves the cost.
    """
    cfg = targets.load_target(parameters, name)
    children = root.build_children(cfg)
    templates = {names.template_file(stem): template for stem, template in children.items()}
    templates[names.ROOT_TEMPLATE] = root.build(cfg, children)
    return {file: {"Resources": {lid: {"Type": r.resource_type} for lid, r in t.resources.items()}} for file, t in templates.items()}
