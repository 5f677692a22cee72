"""Load a sample service on 127.0.0.1 and print throughput, error rate, p50 and p99.

    python bench/service_load.py [--service api-service] [--clients 50 200] [--seconds 5]

Starts the service as a process (PORT=0), then for each client count runs that
many concurrent clients, each sending GET <prefix>/health in a loop, one request
per connection (the services speak HTTP/1.0), for ``--seconds``.  An error is
any request that does not end in a 2xx: a reset or refused connection, a
timeout, a bad status.  Every request has a timeout, and the whole run is
bounded by ``--seconds`` per level plus that timeout, so the script always ends.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "lambda"))

from local_servers import SERVICE_ROUTES, ServiceProcess  # noqa: E402

REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, latency: float, error: str | None) -> None:
        with self.lock:
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1
            else:
                self.latencies.append(latency)


def one_request(port: int, path: str) -> str | None:
    """None when the service answered 2xx; else a short name of what went wrong."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return None if 200 <= response.status < 300 else f"status {response.status}"
    except Exception as error:  # resets, refusals, timeouts, broken replies: all count as errors
        return type(error).__name__
    finally:
        connection.close()


def client(port: int, path: str, stop_at: float, tally: Tally) -> None:
    while time.monotonic() < stop_at:
        started = time.monotonic()
        error = one_request(port, path)
        tally.record(time.monotonic() - started, error)


def run_level(port: int, path: str, clients: int, seconds: float) -> dict:
    tally = Tally()
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(port, path, stop_at, tally), daemon=True) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, stop_at - time.monotonic()) + REQUEST_TIMEOUT_SECONDS + 1)
    elapsed = time.monotonic() - started
    ok = len(tally.latencies)
    failed = sum(tally.errors.values())
    total = ok + failed
    ordered = sorted(tally.latencies)
    return {
        "clients": clients,
        "requests": total,
        "throughput": total / elapsed if elapsed else 0.0,
        "error_rate": failed / total if total else 0.0,
        "errors": dict(sorted(tally.errors.items())),
        "p50_ms": statistics.median(ordered) * 1000 if ordered else float("nan"),
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000 if ordered else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default="api-service", choices=sorted(SERVICE_ROUTES))
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each level (default: %(default)s)")
    args = parser.parse_args(argv)
    service = ServiceProcess(args.service)
    path = f"{SERVICE_ROUTES[args.service]}/health"
    try:
        print(f"{args.service} on 127.0.0.1:{service.port}, GET {path}, {args.seconds:g}s per level")
        print(f"{'clients':>7} {'requests':>8} {'req/s':>8} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}  error kinds")
        for clients in args.clients:
            r = run_level(service.port, path, clients, args.seconds)
            print(
                f"{r['clients']:>7} {r['requests']:>8} {r['throughput']:>8.0f} {r['error_rate']:>7.2%} "
                f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}  {r['errors'] or '-'}"
            )
    finally:
        service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
