#!/usr/bin/env python3
"""Run checkov over rendered templates and print its totals; exit 1 on any failed check.

    python security/checkov_gate.py build/
    python security/checkov_gate.py --expect-failure tests/security/fixtures/bad_policies.json

Suppressions are not made here: each lives in its resource's Metadata
(``checkov: skip: [{id, comment}]``), written by the template code with a reason,
and is counted as skipped.  ``--expect-failure`` proves the gate can fail: it
exits 1 unless checkov fails the given template.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def run_checkov(path: str, is_file: bool) -> list[dict]:
    command = ["checkov", "-f" if is_file else "-d", path, "--framework", "cloudformation", "--skip-download", "-o", "json", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        sys.exit(f"checkov did not run: exit {result.returncode}\n{result.stderr}")
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def totals(reports: list[dict]) -> dict[str, int]:
    summary = {"passed": 0, "failed": 0, "skipped": 0}
    for report in reports:
        for key in summary:
            summary[key] += report.get("summary", {}).get(key, 0)
    return summary


def failures(reports: list[dict]) -> list[str]:
    return [
        f"{check['file_path']}: {check['resource']}: {check['check_id']}: {check['check_name']}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="build", help="directory of rendered templates (default: build)")
    parser.add_argument("--expect-failure", metavar="TEMPLATE", help="a template checkov must fail")
    args = parser.parse_args()
    if args.expect_failure:
        failed = failures(run_checkov(args.expect_failure, is_file=True))
        print(f"checkov fails {len(failed)} checks in {args.expect_failure}, as it must")
        return 0 if failed else 1
    reports = run_checkov(args.path, is_file=False)
    summary = totals(reports)
    print(f"checkov: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} suppressed with a reason")
    for line in failures(reports):
        print(f"  FAILED {line}")
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
