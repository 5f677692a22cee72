#!/usr/bin/env python3
"""Time build.py cold and warm at 3, 30 and 60 services, optionally beside AWS CDK's synth plus cfn-lint.

    python bench/build_scaling.py [--counts 3 30 60] [--runs 3] [--cdk-python /tmp/cdk-peer/bin/python]

Each run is a whole `python build.py` in a fresh interpreter, as a user runs it: cold is a new output
directory (an empty lint cache), warm is the same command again with nothing changed. The targets are
staging, production and pipeline, what the CDK peer app (../shared/cdk-peer) synthesizes. Rounds
interleave every size and tool, so a noisy machine slows them alike; the table gives medians and the
ratio to CDK. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TARGETS = ("staging", "production", "pipeline")
LIMITS = {"resources": 500, "bytes": 1_048_576, "parameters": 200, "outputs": 200}
DEFAULT_CDK_PEER = REPO.parent / "shared" / "cdk-peer"


def write_parameters(count: int, directory: Path) -> Path:
    """The repository's parameters with ``count`` generated services."""
    directory.mkdir(parents=True)
    project = yaml.safe_load((REPO / "parameters" / "project.yaml").read_text())
    project["services"] = [{"name": f"service-{i:02d}", "route_path": f"/service-{i:02d}"} for i in range(count)]
    (directory / "project.yaml").write_text(yaml.safe_dump(project))
    for name in ("staging.yaml", "production.yaml"):
        (directory / name).write_text((REPO / "parameters" / name).read_text())
    pipeline = yaml.safe_load((REPO / "parameters" / "pipeline.yaml").read_text())
    # Per-service pipeline settings name the repository's services, which the generated ones replace.
    pipeline.pop("integration_tests", None)
    pipeline.get("build", {}).pop("test_commands", None)
    (directory / "pipeline.yaml").write_text(yaml.safe_dump(pipeline))
    return directory


def timed(command: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    return time.perf_counter() - started, result


def build_py(parameters: Path, output: Path, report: Path, jobs: int | None) -> tuple[float, dict]:
    command = [sys.executable, str(REPO / "build.py"), "--parameters", str(parameters), "--output", str(output)]
    command += [arg for target in TARGETS for arg in ("--env", target)] + ["--json", str(report)]
    command += ["--jobs", str(jobs)] if jobs else []
    seconds, result = timed(command)
    if result.returncode != 0:
        sys.exit(f"build.py failed ({result.returncode}):\n{result.stderr}")
    return seconds, json.loads(report.read_text())


def cdk(count: int, cdk_python: str, peer: Path, outdir: Path) -> tuple[float, float]:
    """Seconds of the CDK peer's synth, then of cfn-lint over what it synthesized."""
    environment = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
    synth, result = timed([cdk_python, "app.py", str(count), "--outdir", str(outdir)], cwd=peer, env=environment)
    if result.returncode != 0:
        sys.exit(f"CDK synth failed:\n{result.stderr[-2000:]}")
    cfn_lint = str(Path(cdk_python).with_name("cfn-lint"))
    lint, result = timed([cfn_lint, *sorted(str(p) for p in outdir.glob("*.template.json"))])
    if result.returncode in (1,) or result.returncode >= 32:  # 2/4/8 mean findings; 1 and 32+ that it failed
        sys.exit(f"cfn-lint failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return synth, lint


def limit_shares(report: dict) -> dict[str, float]:
    return {limit: max(t[limit] for t in report["templates"]) / maximum for limit, maximum in LIMITS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[3, 30, 60])
    parser.add_argument("--runs", type=int, default=3, help="rounds; medians are printed (default: %(default)s)")
    parser.add_argument("--jobs", type=int, help="build.py --jobs (default: build.py's own)")
    parser.add_argument("--cdk-python", help="the CDK peer's virtualenv python (see its README); adds its columns")
    parser.add_argument("--cdk-counts", type=int, nargs="+", help="sizes to run the CDK peer at (default: --counts)")
    parser.add_argument("--cdk-peer", type=Path, default=DEFAULT_CDK_PEER, help="the CDK peer app (default: %(default)s)")
    args = parser.parse_args()
    cdk_counts = set(args.cdk_counts or args.counts) if args.cdk_python else set()
    samples: dict[tuple[int, str], list[float]] = {}
    reports: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        parameters = {n: write_parameters(n, scratch / f"parameters-{n}") for n in args.counts}
        for run in range(args.runs):
            for n in args.counts:
                output = scratch / f"build-{n}-{run}"
                cold, reports[n] = build_py(parameters[n], output, scratch / "cold.json", args.jobs)
                warm, warm_report = build_py(parameters[n], output, scratch / "warm.json", args.jobs)
                assert warm_report["findings"] == reports[n]["findings"], "warm findings differ from cold ones"
                lint = reports[n]["seconds"].get("lint", 0.0)
                # the templates' own lint times over the stage's wall time: how many cores the pool kept busy
                busy = sum(t["stages"]["lint"]["seconds"] for t in reports[n]["templates"]) / lint if lint else 0.0
                for name, value in (("cold", cold), ("warm", warm), ("lint", lint), ("pool", busy)):
                    samples.setdefault((n, name), []).append(value)
                if n in cdk_counts:
                    synth, lint = cdk(n, args.cdk_python, args.cdk_peer, scratch / f"cdk-{n}-{run}")
                    for name, value in (("synth", synth), ("cfn-lint", lint), ("cdk", synth + lint)):
                        samples.setdefault((n, name), []).append(value)
                print(f"round {run + 1}/{args.runs}, {n} services: cold {cold:.2f}s, warm {warm:.2f}s"
                      + (f", CDK {synth:.2f}s + cfn-lint {lint:.2f}s" if n in cdk_counts else ""), file=sys.stderr, flush=True)
    print_table(args, samples, reports, cdk_counts)


def print_table(args, samples, reports, cdk_counts) -> None:
    def median(n, name):
        return statistics.median(samples[(n, name)])

    print(f"build.py --env {' --env '.join(TARGETS)}: medians of {args.runs} runs, seconds, each a fresh interpreter; "
          f"{os.cpu_count()} cores")
    header = f"{'services':>8} {'templates':>9} {'resources':>9} {'findings':>8} {'cold':>7} {'(lint)':>7} {'(pool)':>6} {'warm':>6}"
    if cdk_counts:
        header += f" {'CDK synth':>9} {'cfn-lint':>8} {'CDK total':>9} {'cold/CDK':>8} {'warm/CDK':>8}"
    header += f" {'max res%':>8} {'max bytes%':>10}"
    print(header)
    for n in args.counts:
        report = reports[n]
        shares = limit_shares(report)
        row = (f"{n:>8} {len(report['templates']):>9} {sum(t['resources'] for t in report['templates']):>9} "
               f"{len(report['findings']):>8} {median(n, 'cold'):>7.2f} {median(n, 'lint'):>7.2f} "
               f"{median(n, 'pool'):>5.1f}x {median(n, 'warm'):>6.2f}")
        if cdk_counts:
            if n in cdk_counts:
                # the median of each round's ratio: the two sides of one round saw the same machine
                cold_ratio = statistics.median(c / k for c, k in zip(samples[(n, "cold")], samples[(n, "cdk")], strict=True))
                warm_ratio = statistics.median(w / k for w, k in zip(samples[(n, "warm")], samples[(n, "cdk")], strict=True))
                row += (f" {median(n, 'synth'):>9.2f} {median(n, 'cfn-lint'):>8.2f} {median(n, 'cdk'):>9.2f} "
                        f"{cold_ratio:>8.0%} {warm_ratio:>8.1%}")
            else:
                row += f" {'-':>9} {'-':>8} {'-':>9} {'-':>8} {'-':>8}"
        row += f" {shares['resources']:>8.1%} {shares['bytes']:>10.1%}"
        print(row)
    for n in args.counts:
        runs = ", ".join(f"{name} " + "/".join(f"{v:.1f}" for v in samples[(n, name)])
                         for name in ("cold", "warm", "synth", "cfn-lint") if (n, name) in samples)
        print(f"  {n} services, every run: {runs}")


if __name__ == "__main__":
    main()
