"""Serving an App over HTTP: request heads read off the worker threads, JSON access logs, SIGTERM handling."""

import io
import json
import os
import re
import selectors
import signal
import socket
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer

from . import logs
from .app import App, HttpError, Request, Response, error_response

MAX_BODY_BYTES = 1024 * 1024
# Requests served at once.  A connection gets a worker only once its whole request
# head has arrived; until then it costs a socket and a buffer, not a thread.
WORKER_THREADS = 32
# Connections the kernel queues while the server takes no more: room for the ALB's
# and the clients' bursts (a backlog of 5, socketserver's default, resets them).
LISTEN_BACKLOG = 1024
# The request line and headers must have arrived within this many seconds of the
# connection being accepted, however the bytes trickle in; otherwise the client gets
# a 408 and the connection is closed.  The ALB and the health checks send a request
# head at once, in one packet; only a slow or idle client takes longer.
HEAD_DEADLINE_SECONDS = 5.0
# A request head larger than this is answered 431 (the ALB's own limit is 64 KB too).
MAX_HEAD_BYTES = 64 * 1024
# Connections whose heads are being read, or which wait for a worker, at most; beyond
# it the server stops accepting and new connections wait in the listen backlog.
# Memory: at most MAX_PENDING_CONNECTIONS * MAX_HEAD_BYTES (64 MiB) of buffered heads.
MAX_PENDING_CONNECTIONS = 1024
# The body (Content-Length bytes, at most MAX_BODY_BYTES) must have arrived within this
# many seconds of a worker taking the request: a trickled body holds a worker no longer.
BODY_DEADLINE_SECONDS = 10.0
REQUEST_ID_HEADER = "X-Request-Id"
# A caller's id is reused only if it is short and plain: it goes into logs and headers.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
VALID_LENGTH = re.compile(r"[0-9]{1,12}")
# The blank line that ends a request head (http.server accepts bare LF line ends too).
HEAD_END = re.compile(rb"\r?\n\r?\n")
RECV_BYTES = 16 * 1024


class _Pending:
    """A connection whose request head is being read, or which waits for a free worker."""

    __slots__ = ("sock", "address", "deadline", "head")

    def __init__(self, sock, address, deadline: float):
        self.sock = sock
        self.address = address
        self.deadline = deadline
        self.head = bytearray()


class GracefulServer(HTTPServer):
    """Reads request heads in its own loop, then serves each request on a fixed pool of workers.

    serve_forever() accepts connections and reads their request heads without
    blocking (a selector over all of them), each under HEAD_DEADLINE_SECONDS.  Only
    a connection whose head is complete is handed to a worker thread, so idle or
    slow clients cannot occupy the workers and ``/health`` stays answered.  When
    every worker is busy, complete heads wait their turn; when MAX_PENDING_CONNECTIONS
    connections are pending, new ones wait in the kernel's listen backlog (bounded
    memory, no thread per client).  shutdown() stops accepting, lets the heads
    already arriving finish (each within its deadline) and returns once they are
    handed over; server_close() then waits for the requests in flight: a SIGTERM
    lets them finish before the process exits.
    """

    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address,
        handler,
        workers: int = WORKER_THREADS,
        head_deadline: float = HEAD_DEADLINE_SECONDS,
        body_deadline: float = BODY_DEADLINE_SECONDS,
        max_pending: int = MAX_PENDING_CONNECTIONS,
    ):
        self.head_deadline = head_deadline
        self.body_deadline = body_deadline
        self.max_pending = max_pending
        self._free_workers = threading.BoundedSemaphore(workers)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="request")
        self._pending: dict = {}  # socket -> _Pending, in order of acceptance (so of deadline)
        self._ready: deque = deque()  # complete heads waiting for a worker
        self._heads: dict = {}  # socket -> its head's bytes, until the worker's handler takes them
        self._heads_lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        super().__init__(address, handler)
        self.socket.setblocking(False)

    # --- the loop: accept, read heads, hand complete ones to workers ---------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self._wake_r, selectors.EVENT_READ, None)
                accepting = False
                while True:
                    stopping = self._stop.is_set()
                    room = self._has_room()
                    if room and not stopping and not accepting:
                        selector.register(self, selectors.EVENT_READ, self)
                        accepting = True
                    elif accepting and (stopping or not room):
                        selector.unregister(self)
                        accepting = False
                    self._dispatch_ready()
                    if stopping and not self._pending and not self._ready:
                        break
                    for key, _ in selector.select(self._select_timeout(poll_interval)):
                        if key.data is None:
                            self._drain_wake()
                        elif key.data is self:
                            self._accept(selector)
                        else:
                            self._read_head(selector, key.data)
                    self._expire(selector)
                    self.service_actions()
        finally:
            self._stop.clear()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop serve_forever(): no new connections; heads already arriving get until their deadline."""
        self._stop.set()
        self._wake()
        self._stopped.wait()

    def _has_room(self) -> bool:
        """Whether another connection may be taken in (MAX_PENDING_CONNECTIONS)."""
        return len(self._pending) + len(self._ready) < self.max_pending

    def _select_timeout(self, poll_interval: float) -> float:
        if not self._pending:
            return poll_interval
        earliest = next(iter(self._pending.values())).deadline
        return max(0.0, min(poll_interval, earliest - time.monotonic()))

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # already full (the loop will wake anyway), or closed
            pass

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _accept(self, selector) -> None:
        while self._has_room():
            try:
                sock, address = self.socket.accept()
            except OSError:  # none left to accept, the client gave up before it was accepted, or no descriptor left
                return
            if not self.verify_request(sock, address):
                self.shutdown_request(sock)
                continue
            sock.setblocking(False)
            pending = _Pending(sock, address, time.monotonic() + self.head_deadline)
            self._pending[sock] = pending
            selector.register(sock, selectors.EVENT_READ, pending)

    def _read_head(self, selector, pending: _Pending) -> None:
        try:
            chunk = pending.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # closed (or reset) before sending a whole head: nothing to answer
            self._forget(selector, pending)
            self.shutdown_request(pending.sock)
            return
        searched_from = max(0, len(pending.head) - 3)
        pending.head += chunk
        end = HEAD_END.search(pending.head, searched_from)
        if end and end.end() <= MAX_HEAD_BYTES:
            self._forget(selector, pending)
            self._ready.append(pending)
        elif len(pending.head) > MAX_HEAD_BYTES:
            self._refuse(selector, pending, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, f"request head larger than {MAX_HEAD_BYTES} bytes")

    def _expire(self, selector) -> None:
        now = time.monotonic()
        expired = []
        for pending in self._pending.values():  # in order of deadline
            if pending.deadline > now:
                break
            expired.append(pending)
        for pending in expired:
            message = f"request head not received within {self.head_deadline:g}s"
            self._refuse(selector, pending, HTTPStatus.REQUEST_TIMEOUT, message)

    def _forget(self, selector, pending: _Pending) -> None:
        selector.unregister(pending.sock)
        del self._pending[pending.sock]

    def _refuse(self, selector, pending: _Pending, status: HTTPStatus, message: str) -> None:
        """Answer ``status`` without a worker (best effort: the socket does not block) and close."""
        self._forget(selector, pending)
        body = json.dumps({"error": message}).encode("utf-8")
        head = (
            f"HTTP/1.0 {status.value} {status.phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        )
        try:
            pending.sock.send(head.encode("ascii") + body)
        except OSError:
            pass
        self.shutdown_request(pending.sock)
        logs.info("connection dropped", status=status.value, reason=message, head_bytes=len(pending.head))

    def _dispatch_ready(self) -> None:
        while self._ready and self._free_workers.acquire(blocking=False):
            pending = self._ready.popleft()
            pending.sock.setblocking(True)  # the handler sets its own timeout
            with self._heads_lock:
                self._heads[pending.sock] = bytes(pending.head)
            self._pool.submit(self._serve, pending.sock, pending.address)

    def take_head(self, request) -> bytes:
        """The bytes read from ``request`` before a worker took it (its head, perhaps the start of its body)."""
        with self._heads_lock:
            return self._heads.pop(request, b"")

    def _serve(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            with self._heads_lock:
                self._heads.pop(request, None)
            self.shutdown_request(request)
            self._free_workers.release()
            self._wake()  # a complete head may be waiting for this worker

    def server_close(self):
        super().server_close()
        for pending in [*self._pending.values(), *self._ready]:
            self.shutdown_request(pending.sock)
        self._pending.clear()
        self._ready.clear()
        self._pool.shutdown(wait=True)
        self._wake_r.close()
        self._wake_w.close()


class _RequestReader(io.RawIOBase):
    """What the handler reads a request from: the bytes read with the head, then the socket.

    Each socket read waits at most ``timeout`` and never past ``deadline`` (a
    monotonic time), so a body that trickles in holds the worker a bounded time.
    """

    def __init__(self, sock, already_read: bytes, deadline: float, timeout: float | None):
        super().__init__()
        self._sock = sock
        self._buffered = memoryview(already_read)
        self._deadline = deadline
        self._timeout = timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._buffered:
            count = min(len(buffer), len(self._buffered))
            buffer[:count] = self._buffered[:count]
            self._buffered = self._buffered[count:]
            return count
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request not received by its deadline")
        self._sock.settimeout(remaining if self._timeout is None else min(self._timeout, remaining))
        try:
            return self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(self._timeout)


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
    timeout = 30  # seconds a socket read of the body may take (and BODY_DEADLINE_SECONDS in all)
    server_version = "service-kit"

    def setup(self):
        super().setup()
        take_head = getattr(self.server, "take_head", None)
        if take_head is None:  # another server class: read the socket as http.server does
            return
        self.rfile.close()  # the socket's own file: the head has been read from it already
        deadline = time.monotonic() + self.server.body_deadline
        self.rfile = io.BufferedReader(_RequestReader(self.connection, take_head(self.request), deadline, self.timeout))

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
