#!/usr/bin/env python3
"""Render every deploy target's CloudFormation templates into build/ and lint them."""

from __future__ import annotations

import sys

if sys.version_info < (3, 11):  # noqa: UP036 - this line exists for the interpreters the target version excludes
    sys.exit(f"build.py needs Python 3.11 or newer (see requires-python in pyproject.toml); this is Python {sys.version.split()[0]}")

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

from builder.lint import DEFAULT_REGIONS  # noqa: E402
from builder.preflight import stage as preflight_stage  # noqa: E402
from builder.render import BuildResult, build_target, load_targets  # noqa: E402
from templates.config import ConfigError  # noqa: E402

ROOT = Path(__file__).resolve().parent


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Render the nested CloudFormation templates of every target (or the ones named) "
        "into OUTPUT/<target>/, lint each with cfn-lint and check what AWS enforces at deploy time (preflight). "
        "Exits 1 on any finding, 2 on a configuration error."
    )
    parser.add_argument("--env", action="append", default=[], metavar="NAME",
                        help="render only this target (repeatable); default: every parameters/<name>.yaml")
    parser.add_argument("--parameters", type=Path, default=ROOT / "parameters", metavar="DIR",
                        help="directory holding project.yaml and <target>.yaml (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=ROOT / "build", metavar="DIR",
                        help="where to write <target>/<stack>.json (default: %(default)s)")
    parser.add_argument("--region", action="append", default=[], metavar="REGION",
                        help="region whose resource specs cfn-lint checks against (repeatable; default: us-east-1)")
    parser.add_argument("--no-lint", action="store_true", help="render only, skip cfn-lint and preflight")
    parser.add_argument("--no-preflight", action="store_true", help="skip the preflight checks (docs/preflight.md)")
    return parser.parse_args(argv)


def print_table(result: BuildResult, output: Path, linted: bool) -> None:
    header = f"{'template':<44} {'resources':>9} {'bytes':>9} {'findings':>8}"
    print(header)
    print("-" * len(header))
    for report in result.reports:
        name = str(report.file.relative_to(output)) if report.file.is_relative_to(output) else str(report.file)
        print(f"{name:<44} {report.resources:>9} {report.size:>9} {len(report.findings):>8}")
    print("-" * len(header))
    total = sum(r.resources for r in result.reports)
    lint = f"{len(result.findings)} findings; lint {result.lint_seconds:.2f}s" if linted else "not linted (--no-lint)"
    print(f"{len(result.reports)} templates, {total} resources; render {result.render_seconds:.2f}s; {lint}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        configs = load_targets(args.parameters, args.env)
    except ConfigError as error:
        print("configuration error:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    for warning in (w for cfg in configs for w in getattr(cfg, "warnings", ())):
        print(f"warning: {warning}", file=sys.stderr)
    result = BuildResult()
    regions = tuple(args.region) or DEFAULT_REGIONS
    for cfg in configs:
        build_target(cfg, args.output, result, regions, lint=not args.no_lint)
    print_table(result, args.output, linted=not args.no_lint)
    preflight_findings = []
    if not (args.no_lint or args.no_preflight):
        report, seconds = preflight_stage.check_build(configs, args.output, args.parameters)
        preflight_stage.print_report(report, seconds)
        preflight_findings = report.findings
    if result.findings:
        print("\ncfn-lint findings:", file=sys.stderr)
        for finding in result.findings:
            print(f"  {finding}", file=sys.stderr)
    return 1 if result.findings or preflight_findings else 0


if __name__ == "__main__":
    sys.exit(main())
