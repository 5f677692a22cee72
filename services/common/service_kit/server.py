"""Serving an App over HTTP with ThreadingHTTPServer, JSON access logs and SIGTERM handling."""

import json
import os
import re
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer

from . import logs
from .app import App, HttpError, Request, Response, error_response

MAX_BODY_BYTES = 1024 * 1024
# Requests served at once; more connections wait in the listen backlog, not in threads.
WORKER_THREADS = 32
# Connections the kernel queues while every worker is busy: room for the ALB's
# and the clients' bursts (a backlog of 5, socketserver's default, resets them).
LISTEN_BACKLOG = 1024
REQUEST_ID_HEADER = "X-Request-Id"
# A caller's id is reused only if it is short and plain: it goes into logs and headers.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
VALID_LENGTH = re.compile(r"[0-9]{1,12}")


class GracefulServer(HTTPServer):
    """Serves each connection on a fixed pool of worker threads.

    When every worker is busy the accept loop waits for one, so pending
    connections queue in the kernel's listen backlog (bounded memory, no
    thread per client).  server_close() waits for the requests in flight:
    a SIGTERM lets them finish before the process exits.
    """

    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address, handler, workers: int = WORKER_THREADS):
        self._free_workers = threading.BoundedSemaphore(workers)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="request")
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        self._free_workers.acquire()
        self._pool.submit(self._serve, request, client_address)

    def _serve(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._free_workers.release()

    def server_close(self):
        super().server_close()
        self._pool.shutdown(wait=True)


def request_id_from(headers) -> str:
    offered = headers.get(REQUEST_ID_HEADER, "")
    return offered if VALID_REQUEST_ID.fullmatch(offered) else str(uuid.uuid4())


class RequestHandler(BaseHTTPRequestHandler):
    app: App  # set on the subclass that make_handler() creates
    # HTTP/1.0: one request per connection, so no idle keep-alive connection
    # holds a thread (and with it the shutdown) open.
    protocol_version = "HTTP/1.0"
    # Answers to unparseable request lines get a status line too (the default, HTTP/0.9, sends none).
    default_request_version = "HTTP/1.0"
    timeout = 30  # seconds a slow client may take per socket read
    server_version = "service-kit"

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        started = time.monotonic()
        request_id = request_id_from(self.headers)
        path = self.path.split("?", 1)[0]
        try:
            body = self._read_body()
        except HttpError as error:
            response = error_response(error)
        else:
            response = self.app.dispatch(Request(self.command, path, body, dict(self.headers), request_id))
        self._send(response, request_id)
        logs.info(
            "request",
            method=self.command,
            path=path,
            status=response.status,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            request_id=request_id,
        )

    def _read_body(self) -> bytes:
        raw_length = self.headers.get("Content-Length") or "0"
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
        if not VALID_LENGTH.fullmatch(raw_length):
            raise HttpError(400, "invalid Content-Length: expected a decimal number of bytes")
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            raise HttpError(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            body = self.rfile.read(length) if length else b""
        except TimeoutError:
            body = b""
        if len(body) != length:
            raise HttpError(400, f"body shorter than its Content-Length ({length} bytes)")
        return body

    def _send(self, response: Response, request_id: str) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        self.send_header(REQUEST_ID_HEADER, request_id)
        self.send_header("Cache-Control", "no-store")
        if response.body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        """Silences http.server's plain-text stderr log; _handle writes a JSON line instead."""


def make_handler(app: App) -> type:
    return type(f"{type(app).__name__}Handler", (RequestHandler,), {"app": app})


def serve(app: App, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT; then stop accepting, finish requests in flight, return."""
    server = GracefulServer((host, port), make_handler(app))

    def stop(signum, frame):
        logs.info("stopping", service=app.name, signal=signal.Signals(signum).name)
        # shutdown() waits for serve_forever() to return, which runs in this very
        # thread (signal handlers run in the main thread): call it from another.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bound_host, bound_port = server.server_address[:2]
    logs.info("listening", service=app.name, version=app.version, host=bound_host, port=bound_port, prefix=app.prefix)
    try:
        server.serve_forever()
    finally:
        server.server_close()  # joins the request threads
    logs.info("stopped", service=app.name)


def run(app: App) -> None:
    """Serve on HOST:PORT from the environment (0.0.0.0:8080 by default; PORT=0 picks a free port)."""
    serve(app, os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080")))
