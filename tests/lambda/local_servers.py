"""Local servers for the health-check tests and benchmark: the real services as
processes, and small stdlib servers that misbehave on purpose.

Everything listens on 127.0.0.1 only, and every wait is bounded.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"

SERVICE_ROUTES = {"api-service": "/api", "auth-service": "/auth", "notification-service": "/notification"}
STARTUP_SECONDS = 15
HANG_LIMIT_SECONDS = 15  # a "hanging" server still lets go after this, so nothing waits forever


class ServiceProcess:
    """One sample service, started with PORT=0; its port is read from the "listening" log line."""

    def __init__(self, name: str):
        self.name = name
        self.lines: queue.Queue[str] = queue.Queue()
        env = {
            **os.environ,
            "PYTHONPATH": str(SERVICES_DIR / "common"),
            "HOST": "127.0.0.1",
            "PORT": "0",
            "SERVICE_VERSION": "test",
            "AUTH_SIGNING_KEY": "test-signing-key-" + "x" * 32,
        }
        script = SERVICES_DIR / name / (name.replace("-", "_") + ".py")
        self.process = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Drain stdout for the process's whole life, so its pipe never fills up.
        threading.Thread(target=self._drain, daemon=True).start()
        self.port = self._wait_for_port()

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def _wait_for_port(self) -> int:
        try:
            while True:
                line = self.lines.get(timeout=STARTUP_SECONDS)
                if '"listening"' in line:
                    return json.loads(line)["port"]
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"{self.name} did not start within {STARTUP_SECONDS}s") from None

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{SERVICE_ROUTES[self.name]}/health"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


# --- misbehaving servers ------------------------------------------------------------


# What a misconfigured endpoint might send: the checks may say how long it was, never what it said.
LEAKY_BODY = b"<html>db password: hunter2-SECRET-TOKEN</html>"


class MisbehavingHandler(BaseHTTPRequestHandler):
    """behaviour: "hang" (never answers), "error" (500, with a healthy-looking body),
    "not_json" (200 with HTML), "degraded" (200 with {"status": "degraded"}),
    "leaky" (200, not JSON, with a secret-looking body: it must never be logged),
    "redirect" (302 to ``location``, then a healthy answer at /moved on this server),
    "healthy" (200 with {"status": "ok"}).
    Every request's path is recorded in ``hits``, and its headers in ``headers``."""

    behaviour = "hang"
    release: threading.Event
    location = ""
    hits: list
    headers_seen: list

    def do_GET(self):
        self.hits.append(self.path)
        self.headers_seen.append(dict(self.headers))
        if self.behaviour == "hang":
            self.release.wait(HANG_LIMIT_SECONDS)
            return
        if self.behaviour == "redirect" and self.path != "/moved":
            self.send_response(302)
            self.send_header("Location", self.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, body = {
            "error": (500, b'{"status": "ok"}'),
            "not_json": (200, b"<html>all good</html>"),
            "degraded": (200, b'{"status": "degraded"}'),
            "leaky": (200, LEAKY_BODY),
            "redirect": (200, b'{"status": "ok"}'),
            "healthy": (200, b'{"status": "ok"}'),
        }[self.behaviour]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class MisbehavingServers:
    """Starts misbehaving servers on 127.0.0.1 and stops them all at close()."""

    def __init__(self):
        self.release = threading.Event()
        self.servers = []

    def start(self, behaviour: str, location: str = "", hits: list | None = None, headers: list | None = None) -> str:
        """Start one server; return its base URL.  ``hits`` receives the paths it is asked for, ``headers`` each request's headers."""
        attributes = {
            "behaviour": behaviour,
            "release": self.release,
            "location": location,
            "hits": [] if hits is None else hits,
            "headers_seen": [] if headers is None else headers,
        }
        handler = type("Handler", (MisbehavingHandler,), attributes)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # A short poll interval keeps shutdown() (teardown) quick.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()
