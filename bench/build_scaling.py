#!/usr/bin/env python3
"""Render and lint a configuration with 3, 10 and 30 services and print the figures.

    python bench/build_scaling.py [--counts 3 10 30]

For each size: render time, lint time, peak memory of rendering, templates,
resources, and the largest template's share of each CloudFormation limit.
Times are wall-clock on whatever machine runs it: compare the rows of one run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from builder.lint import lint_template, rules  # noqa: E402
from builder.render import write_target  # noqa: E402
from templates import config as config_module  # noqa: E402
from templates import targets  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LIMITS = {"resources": 500, "bytes": 1_048_576, "parameters": 200, "outputs": 200}


def config_with(count: int, directory: Path, target: str):
    project = yaml.safe_load((REPO / "parameters" / "project.yaml").read_text())
    project["services"] = [{"name": f"service-{i:02d}", "route_path": f"/service-{i:02d}"} for i in range(count)]
    (directory / "project.yaml").write_text(yaml.safe_dump(project))
    for name in sorted({f"{target}.yaml", "staging.yaml", "production.yaml"}):
        (directory / name).write_text((REPO / "parameters" / name).read_text())
    pipeline = yaml.safe_load((REPO / "parameters" / config_module.PIPELINE_FILE).read_text())
    # Per-service pipeline settings name the repository's services, which the generated ones replace.
    pipeline.pop("integration_tests", None)
    pipeline.get("build", {}).pop("test_commands", None)
    (directory / config_module.PIPELINE_FILE).write_text(yaml.safe_dump(pipeline))
    return targets.load_target(directory, target)


def measure(count: int, target: str) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        cfg = config_with(count, scratch, target)
        tracemalloc.start()
        started = time.perf_counter()
        rendered = targets.render(cfg)
        render_seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        written = write_target(rendered, scratch / "build" / target)
        started = time.perf_counter()
        findings = sum(len(lint_template(path, rendered[path.name])) for path in written)
        lint_seconds = time.perf_counter() - started
    sizes = {
        name: {
            "resources": len(t.get("Resources", {})),
            "bytes": len(targets.to_json(t).encode()),
            "parameters": len(t.get("Parameters", {})),
            "outputs": len(t.get("Outputs", {})),
        }
        for name, t in rendered.items()
    }
    shares = {limit: max(s[limit] for s in sizes.values()) / maximum for limit, maximum in LIMITS.items()}
    return {
        "services": count,
        "render_s": render_seconds,
        "lint_s": lint_seconds,
        "peak_mib": peak / 2**20,
        "templates": len(rendered),
        "resources": sum(s["resources"] for s in sizes.values()),
        "findings": findings,
        **{f"max_{limit}": share for limit, share in shares.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[3, 10, 30])
    parser.add_argument("--target", default="production", help="target to render: an environment or pipeline (default: %(default)s)")
    args = parser.parse_args()
    rules()  # load cfn-lint's rules before timing, as build.py loads them once
    print(f"target {args.target}; largest template's share of each CloudFormation limit")
    header = (f"{'services':>8} {'render s':>9} {'lint s':>8} {'peak MiB':>9} {'templates':>9} {'resources':>9} "
              f"{'findings':>8} {'resources%':>10} {'bytes%':>7} {'params%':>8} {'outputs%':>8}")
    print(header)
    for count in args.counts:
        row = measure(count, args.target)
        print(
            f"{row['services']:>8} {row['render_s']:>9.3f} {row['lint_s']:>8.2f} {row['peak_mib']:>9.1f} {row['templates']:>9} "
            f"{row['resources']:>9} {row['findings']:>8} {row['max_resources']:>10.1%} {row['max_bytes']:>7.1%} "
            f"{row['max_parameters']:>8.1%} {row['max_outputs']:>8.1%}"
        )


if __name__ == "__main__":
    main()
