#!/usr/bin/env python3
"""What the preflight stage adds to build.py's time: render, cfn-lint and preflight, timed as build.py runs them.

    python bench/preflight_timing.py [--counts 3 10 30]

Rows: every target of parameters/ and of examples/fleet (a whole build each), then one environment and the
pipeline with 3, 10 and 30 generated services (bench/build_scaling.py's configurations). Times are wall-clock:
compare the columns of one row.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from build_scaling import write_parameters  # noqa: E402

from builder.lint import lint_stage, rules  # noqa: E402
from builder.preflight.stage import check_rendered  # noqa: E402
from builder.render import load_targets, render_targets  # noqa: E402
from builder.stages import check  # noqa: E402
from templates.config import load_target  # noqa: E402


def timed_build(configs: list, parameters: Path) -> tuple[float, float, float, int, int]:
    """(render s, lint s, preflight s, checks, findings) of one uncached build of ``configs`` on one core."""
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        rendered = render_targets(configs, Path(scratch))
        render_seconds = time.perf_counter() - started
        result = check(rendered, [lint_stage(("us-east-1",), 1, None)])
        preflight = check_rendered(configs, rendered, parameters)
    return render_seconds, result.lint_seconds, preflight["seconds"], preflight["checks"], len(preflight["findings"])


def row(label: str, figures: tuple[float, float, float, int, int]) -> str:
    render, lint, preflight, checks, findings = figures
    share = 100 * preflight / (render + lint)
    return f"{label:<28} {render:>8.2f} {lint:>8.2f} {preflight:>10.2f} {share:>8.1f}% {checks:>7} {findings:>9}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[3, 10, 30])
    args = parser.parse_args()
    rules()  # cfn-lint's rules load once per process in build.py too; keep it out of the first row
    print(f"{'build':<28} {'render s':>8} {'lint s':>8} {'preflight s':>10} {'added':>9} {'checks':>7} {'findings':>9}")
    for parameters in (REPO / "parameters", REPO / "examples" / "fleet"):
        started = time.perf_counter()
        figures = timed_build(load_targets(parameters, []), parameters)
        print(row(f"{parameters.relative_to(REPO)} (all targets)", figures), f"  total {time.perf_counter() - started:.1f}s")
    for count in args.counts:
        for target in ("production", "pipeline"):
            with tempfile.TemporaryDirectory() as scratch:
                parameters = write_parameters(count, Path(scratch) / "parameters")
                cfg = load_target(parameters, target)
                print(row(f"{target}, {count} services", timed_build([cfg], parameters)))


if __name__ == "__main__":
    main()
