"""The preflight stage of build.py: read what the build wrote, check it, print the findings."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from builder.preflight import Report, run
from templates import names, root, targets


def check_build(configs: list, output: Path, parameters: Path) -> tuple[Report, float]:
    """Check every target the build wrote under ``output``; (report, seconds taken)."""
    started = time.perf_counter()
    rendered = {
        cfg.target: {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted((output / cfg.target).glob("*.json"))}
        for cfg in configs
    }
    report = run(rendered, configs, lambda name: resource_types_only(parameters, name))
    return report, time.perf_counter() - started


def resource_types_only(parameters: Path, name: str) -> dict[str, dict]:
    """An environment the build did not render (``--env pipeline``), reduced to its resource types.

    The deploy-role rule needs only the types; skipping troposphere's serialisation halves the cost.
    """
    cfg = targets.load_target(parameters, name)
    children = root.build_children(cfg)
    templates = {names.template_file(stem): template for stem, template in children.items()}
    templates[names.ROOT_TEMPLATE] = root.build(cfg, children)
    return {file: {"Resources": {lid: {"Type": r.resource_type} for lid, r in t.resources.items()}} for file, t in templates.items()}


def print_report(report: Report, seconds: float) -> None:
    checks = sum(report.checks.values())
    print(f"preflight: {checks} checks, {len(report.findings)} findings; {seconds:.2f}s")
    if report.findings:
        print("\npreflight findings:", file=sys.stderr)
        for finding in report.findings:
            print(f"  {finding}", file=sys.stderr)
