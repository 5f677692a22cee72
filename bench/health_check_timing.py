"""Measure how long one health-check call takes, through the real handler.

    python bench/health_check_timing.py [--timeout SECONDS] [--runs N]

Starts the three sample services as processes on 127.0.0.1 and ten servers that
never answer, then times the CodePipeline mode of the handler (CodePipeline
itself answered by botocore's Stubber, so no AWS account is needed):

- 3 healthy services: the cost of a passing smoke test;
- 10 hanging endpoints: checks run concurrently, so this should take about one
  timeout, not ten.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import boto3
from botocore.stub import ANY, Stubber

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "lambda"), str(REPO / "tests" / "lambda")]
# Quiet: the hanging scenario logs an error per check by design (read at import).
os.environ.setdefault("LOG_LEVEL", "CRITICAL")

from health_check import aws  # noqa: E402
from health_check.handler import handler  # noqa: E402
from local_servers import SERVICE_ROUTES, MisbehavingServers, ServiceProcess  # noqa: E402


class Context:
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


def stubbed_codepipeline(successes: int, failures: int) -> Stubber:
    """CodePipeline answering, in order, `successes` success reports then `failures` failure reports."""
    client = boto3.client("codepipeline", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for _ in range(successes):
        stubber.add_response("put_job_success_result", {}, None)
    for _ in range(failures):
        stubber.add_response("put_job_failure_result", {}, {"jobId": "bench-job", "failureDetails": ANY})
    stubber.activate()
    aws.use_client("codepipeline", client)
    return stubber


def event_for(endpoints: list) -> dict:
    parameters = json.dumps({"endpoints": endpoints})
    return {"CodePipeline.job": {"id": "bench-job", "data": {"actionConfiguration": {"configuration": {"UserParameters": parameters}}}}}


def time_call(event: dict, expect_passed: bool) -> float:
    started = time.perf_counter()
    result = handler(event, Context())
    elapsed = time.perf_counter() - started
    assert result["passed"] is expect_passed, result
    return elapsed


def summarise(label: str, seconds: list) -> str:
    ms = [s * 1000 for s in seconds]
    return f"{label}: median {statistics.median(ms):.1f} ms, min {min(ms):.1f} ms, max {max(ms):.1f} ms over {len(ms)} calls"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=1.0, help="per-check timeout in seconds (default 1.0)")
    parser.add_argument("--runs", type=int, default=5, help="calls per scenario (default 5)")
    args = parser.parse_args()
    os.environ["CHECK_TIMEOUT_SECONDS"] = str(args.timeout)
    services = [ServiceProcess(name) for name in SERVICE_ROUTES]
    hanging = MisbehavingServers()
    stubbed_codepipeline(successes=args.runs + 1, failures=args.runs)
    try:
        healthy = event_for([{"service": s.name, "url": s.health_url} for s in services])
        stuck = event_for([{"service": f"hang-{i}", "url": hanging.start("hang") + "/health"} for i in range(10)])
        time_call(healthy, True)  # warm-up: imports, first connections
        healthy_times = [time_call(healthy, True) for _ in range(args.runs)]
        stuck_times = [time_call(stuck, False) for _ in range(args.runs)]
    finally:
        hanging.close()
        for service in services:
            service.stop()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, per-check timeout {args.timeout:g}s")
    print(summarise("3 healthy services   ", healthy_times))
    print(summarise("10 hanging endpoints ", stuck_times))
    print(f"10 hanging / timeout  : {statistics.median(stuck_times) / args.timeout:.2f}x the timeout (sequential would be 10x)")


if __name__ == "__main__":
    main()
