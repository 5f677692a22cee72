#!/usr/bin/env python3
"""Functional tests against a deployed environment: every service's health, and its real requests.

    python pipeline/integration_test.py https://staging.example.com --checks '{"checks": [...]}'

Each check is ``{"service", "method", "path", "expect_status", "body"?, "health"?}``;
the pipeline's buildspec generates the list from project.yaml and pipeline.yaml.
A health check also needs a JSON body whose ``status`` is ``ok`` and whose
``service`` (if present) is the expected one.  A check that fails is retried
(a fresh deployment may still be warming up); every failure is printed as
one line and the exit status is 1.  Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

HEALTHY = ("ok", "healthy", "pass", "up")


@dataclass(frozen=True)
class Result:
    check: dict
    url: str
    error: str | None  # None: passed

    def __str__(self) -> str:
        verdict = "ok" if self.error is None else f"FAILED: {self.error}"
        return f"{self.check['service']}: {self.check['method']} {self.url}: {verdict}"


def request(base_url: str, check: dict, timeout: float) -> tuple[str, str | None]:
    url = base_url.rstrip("/") + check["path"]
    data = json.dumps(check["body"]).encode() if "body" in check else None
    headers = {"Accept": "application/json", "X-Request-Id": f"integration-test-{check['service']}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=check["method"], headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 - the URL is the pipeline's own
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return url, f"connection failed: {getattr(error, 'reason', error)}"
    expected = check.get("expect_status", 200)
    if status != expected:
        return url, f"status {status}, expected {expected}"
    if check.get("health"):
        try:
            document = json.loads(body)
        except ValueError:
            return url, "bad body: not JSON"
        if not isinstance(document, dict) or str(document.get("status", "")).lower() not in HEALTHY:
            return url, f"bad body: status is {document.get('status') if isinstance(document, dict) else document!r}"
        if document.get("service") not in (None, check["service"]):
            return url, f"bad body: answered by {document.get('service')!r}"
    return url, None


def run(base_url: str, checks: list[dict], attempts: int = 3, delay: float = 5.0, timeout: float = 10.0) -> list[Result]:
    results = []
    for check in checks:
        for attempt in range(1, attempts + 1):
            url, error = request(base_url, check, timeout)
            if error is None or attempt == attempts:
                break
            time.sleep(delay)
        results.append(Result(check, url, error))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="the environment's public URL, such as https://staging.example.com")
    parser.add_argument("--checks", required=True, help='JSON: {"checks": [{"service", "method", "path", "expect_status", ...}]}')
    parser.add_argument("--attempts", type=int, default=3, help="tries per check (default: %(default)s)")
    parser.add_argument("--delay", type=float, default=5.0, help="seconds between tries (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.base_url.startswith(("http://", "https://")):
        parser.error(f"base_url: {args.base_url!r} is not an http(s) URL")
    try:
        checks = json.loads(args.checks)["checks"]
    except (ValueError, KeyError, TypeError) as error:
        parser.error(f"--checks: not a JSON object with a checks list ({error})")
    results = run(args.base_url, checks, args.attempts, args.delay, args.timeout)
    for result in results:
        print(result)
    failed = [r for r in results if r.error is not None]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
