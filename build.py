#!/usr/bin/env python3
"""Render every deploy target's CloudFormation templates into build/ and lint them."""

from __future__ import annotations

import sys

if sys.version_info < (3, 11):  # noqa: UP036 - this line exists for the interpreters the target version excludes
    sys.exit(f"build.py needs Python 3.11 or newer (see requires-python in pyproject.toml); this is Python {sys.version.split()[0]}")

import argparse  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from builder import render_cache  # noqa: E402
from builder.files import write_atomically  # noqa: E402
from builder.lint import DEFAULT_REGIONS, RuleLoader, UnknownRegion, default_jobs, lint_stage, start_method  # noqa: E402
from builder.lint_cache import LintCache  # noqa: E402
from builder.stages import BuildResult, Rendered, check  # noqa: E402

# The templates (troposphere, awacs) and the preflight rules are imported only when something must be
# rendered: an unchanged rebuild reuses the rendered files, the preflight report and the lint findings.

ROOT = Path(__file__).resolve().parent
CACHE_DIR = ".cache/lint"
JSON_FORMAT = 1


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
    parser.add_argument("--jobs", type=positive_int, default=default_jobs(), metavar="N",
                        help="processes to lint with, when that is faster than one (default: the cores this "
                        "process may use, %(default)s)")
    parser.add_argument("--no-cache", action="store_true",
                        help=f"lint every template again instead of reusing the findings kept in OUTPUT/{CACHE_DIR} "
                        "for templates whose content (and their nested templates', cfn-lint's version and the "
                        "regions) is unchanged")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the findings and per-template figures to FILE as JSON")
    return parser.parse_args(argv)


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not accepted; expected a whole number of 1 or more")
    return int(text)


def print_table(result: BuildResult, output: Path) -> None:
    header = f"{'template':<44} {'resources':>9} {'bytes':>9} {'findings':>8} {'lint s':>7}"
    print(header)
    print("-" * len(header))
    for report in result.reports:
        lint = report.checks.get("lint")
        seconds = "-" if lint is None else "cached" if lint.cached else f"{lint.seconds:.2f}"
        print(f"{relative(report.file, output):<44} {report.resources:>9} {report.size:>9} {len(report.findings):>8} {seconds:>7}")
    print("-" * len(header))
    total = sum(r.resources for r in result.reports)
    stages = "; ".join(f"{name} {seconds:.2f}s" for name, seconds in result.stage_seconds.items())
    cached = sum(1 for r in result.reports if r.checks.get("lint") and r.checks["lint"].cached)
    checks = f"{len(result.findings)} findings; {stages} ({cached} cached)" if result.stage_seconds else "not linted (--no-lint)"
    print(f"{len(result.reports)} templates, {total} resources; render {result.render_seconds:.2f}s; {checks}")


def relative(file: Path, output: Path) -> str:
    return str(file.relative_to(output)) if file.is_relative_to(output) else str(file)


def json_report(result: BuildResult | None, args: argparse.Namespace, exit_code: int, errors: list[str], seconds: float) -> dict:
    """What --json writes: the outcome, every finding, and per template its size and what each stage cost."""
    reports = result.reports if result else []
    return {
        "format": JSON_FORMAT,
        "exit_code": exit_code,
        "errors": errors,
        "output": str(args.output),
        "regions": list(args.region or DEFAULT_REGIONS),
        "seconds": {
            "total": round(seconds, 3),
            "render": round(result.render_seconds, 3) if result else 0.0,
            **({name: round(s, 3) for name, s in result.stage_seconds.items()} if result else {}),
        },
        "templates": [
            {
                "target": r.target,
                "file": relative(r.file, args.output),
                "resources": r.resources,
                "parameters": r.parameters,
                "outputs": r.outputs,
                "bytes": r.size,
                "findings": len(r.findings),
                "stages": {name: {"seconds": round(c.seconds, 3), "cached": c.cached} for name, c in r.checks.items()},
            }
            for r in reports
        ],
        "preflight": result.preflight if result else None,
        "findings": [
            {"stage": name, "target": r.target, **vars(f), "file": relative(Path(f.file), args.output)}
            for r in reports
            for name, checked in r.checks.items()
            for f in checked.findings
        ],
    }


def write_json(path: Path, document: dict) -> None:
    """Written whole or not at all: a reader never sees half a file."""
    write_atomically(path, json.dumps(document, indent=2) + "\n")


def stages_for(args: argparse.Namespace, loader: RuleLoader | None = None) -> list:
    if args.no_lint:
        return []
    cache = None if args.no_cache else LintCache(args.output / CACHE_DIR)
    return [lint_stage(tuple(args.region) or DEFAULT_REGIONS, args.jobs, cache, loader)]


def wants_loader(args: argparse.Namespace) -> bool:
    """When templates must be rendered and then linted by more than one process: a process that loads cfn-lint's
    rules now, on another core while this one renders, and lints in workers forked from it (fork: Linux only)."""
    return not args.no_lint and args.jobs > 1 and start_method() == "fork"


class ConfigurationProblems(Exception):
    def __init__(self, problems: list[str]):
        super().__init__(problems)
        self.problems = list(problems)


def wants_preflight(args: argparse.Namespace) -> bool:
    return not (args.no_lint or args.no_preflight)


def render(args: argparse.Namespace, before_rendering: Callable[[], None] = lambda: None) -> tuple[list[Rendered], dict]:
    """Every target's templates, written to the output directory, and what is derived from them and the
    configuration alone (configuration warnings; the preflight report when asked for); raises ConfigurationProblems.
    ``before_rendering`` is called when the templates are not all cached, before they are rendered."""
    cached = None if args.no_cache else render_cache.lookup(args.parameters, args.env, args.output)
    if cached is not None:
        outcome = render_cache.extras(args.parameters, args.env, args.output)
        if outcome.get("preflight") is not None:
            outcome["preflight"]["cached"] = True
        if not wants_preflight(args) or outcome.get("preflight") is not None:
            return cached, outcome
    before_rendering()
    from builder.render import load_targets, render_targets
    from templates.config.reader import ConfigError

    try:
        configs = load_targets(args.parameters, args.env)
        rendered = render_targets(configs, args.output)
    except ConfigError as error:
        raise ConfigurationProblems(error.problems) from None
    except OSError as error:  # a full disk, an output path that is a file: nothing a lint finding would explain
        where = error.filename or args.output
        raise ConfigurationProblems([f"{where}: cannot be written ({error.strerror or error}); expected a writable --output"]) from None
    outcome = {"warnings": list(dict.fromkeys(w for cfg in configs for w in getattr(cfg, "warnings", ())))}  # once each
    if wants_preflight(args):
        from builder.preflight.stage import check_rendered

        outcome["preflight"] = check_rendered(configs, rendered, args.parameters)
    if not args.no_cache:
        render_cache.store(args.parameters, args.env, args.output, rendered, outcome)
    return rendered, outcome


def print_preflight(preflight: dict) -> None:
    cost = "cached" if preflight.get("cached") else f"{preflight['seconds']:.2f}s"
    print(f"preflight: {preflight['checks']} checks, {len(preflight['findings'])} findings; {cost}")
    if preflight["findings"]:
        print("\npreflight findings:", file=sys.stderr)
        for finding in preflight["findings"]:
            print(f"  {finding}", file=sys.stderr)


def run(args: argparse.Namespace) -> tuple[int, BuildResult | None, list[str]]:
    loaders: list[RuleLoader] = []  # the one started before rendering, if any
    try:
        return render_and_check(args, loaders)
    finally:
        for loader in loaders:
            loader.stop()  # on every way out: findings, an error, Ctrl-C, SIGTERM


def render_and_check(args: argparse.Namespace, loaders: list[RuleLoader]) -> tuple[int, BuildResult | None, list[str]]:
    def start_loading() -> None:
        if wants_loader(args):
            loaders.append(RuleLoader(start=False))  # kept first: a Ctrl-C while it forks still finds it to stop
            loaders[-1].start()

    started = time.perf_counter()
    try:
        rendered, outcome = render(args, start_loading)
    except ConfigurationProblems as error:
        print("configuration error:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2, None, list(error.problems)
    for warning in outcome.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    try:
        result = check(rendered, stages_for(args, next(iter(loaders), None)), render_seconds=time.perf_counter() - started)
    except UnknownRegion as error:
        print(f"error: {error}", file=sys.stderr)
        return 2, None, [str(error)]
    print_table(result, args.output)
    preflight = result.preflight = outcome.get("preflight")
    if preflight is not None:
        print_preflight(preflight)
    if result.findings:
        print("\nfindings:", file=sys.stderr)
        for finding in result.findings:
            print(f"  {finding}", file=sys.stderr)
        return 1, result, []
    if preflight and preflight["findings"]:
        return 1, result, []
    return 0, result, []


def stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C does: every process started is stopped on the way out


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        exit_code, result, errors = run(args)
    except KeyboardInterrupt:
        print("build.py: interrupted", file=sys.stderr)
        return 130
    if args.json:
        write_json(args.json, json_report(result, args, exit_code, errors, time.perf_counter() - started))
    return exit_code


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    sys.exit(main())
