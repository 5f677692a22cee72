"""The preflight stage of build.py: read what the build wrote, check it, print the findings."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from builder.preflight import Report, run
from templates import targets


def check_build(configs: list, output: Path, parameters: Path) -> tuple[Report, float]:
    """Check every target the build wrote under ``output``; (report, seconds taken)."""
    started = time.perf_counter()
    rendered = {
        cfg.target: {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted((output / cfg.target).glob("*.json"))}
        for cfg in configs
    }
    report = run(rendered, configs, lambda name: targets.render(targets.load_target(parameters, name)))
    return report, time.perf_counter() - started


def print_report(report: Report, seconds: float) -> None:
    checks = sum(report.checks.values())
    print(f"preflight: {checks} checks, {len(report.findings)} findings; {seconds:.2f}s")
    if report.findings:
        print("\npreflight findings:", file=sys.stderr)
        for finding in report.findings:
            print(f"  {finding}", file=sys.stderr)
