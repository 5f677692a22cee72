"""The shared kit: routing, request ids, JSON logs, limits, SIGTERM, container health check."""

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from service_kit import App, HttpError, Request, Response, healthcheck
from service_kit.app import normalise_prefix
from service_kit.server import GracefulServer, make_handler, request_id_from

COMMON = Path(__file__).resolve().parents[1]
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def make_app() -> App:
    app = App("demo-service", "/demo", version="1.2.3")

    @app.route("GET", "/things/{thing_id}")
    def thing(request):
        return Response(200, {"id": request.params["thing_id"]})

    @app.route("POST", "/echo")
    def echo(request):
        return Response(200, request.json())

    @app.route("GET", "/boom")
    def boom(request):
        raise RuntimeError("kaboom")

    @app.route("GET", "/teapot")
    def teapot(request):
        raise HttpError(418, "short and stout", {"spout": "yes"})

    return app


# --- routing, without sockets ---------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/demo/health"])
def test_health_is_served_with_and_without_the_prefix(path):
    response = make_app().dispatch(Request("GET", path))
    assert (response.status, response.body) == (200, {"status": "ok", "service": "demo-service", "version": "1.2.3"})


@pytest.mark.parametrize(
    "method, path, status, body",
    [
        ("GET", "/demo/things/42", 200, {"id": "42"}),
        ("GET", "/things/42", 404, {"error": "not found"}),  # routes live under the prefix only
        ("GET", "/demo/things/42/more", 404, {"error": "not found"}),
        ("GET", "/demo/teapot", 418, {"error": "short and stout", "details": {"spout": "yes"}}),
        ("GET", "/demo/boom", 500, {"error": "internal error"}),
    ],
)
def test_dispatch(method, path, status, body):
    response = make_app().dispatch(Request(method, path))
    assert (response.status, response.body) == (status, body)


def test_wrong_method_is_405_with_allow():
    response = make_app().dispatch(Request("DELETE", "/demo/echo"))
    assert response.status == 405
    assert response.headers == {"Allow": "POST"}


@pytest.mark.parametrize(
    "body, error",
    [
        (b"{not json", "body is not valid JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b"", "body must be a JSON object"),
        (b"\xff\xfe", "body is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "body is nested too deeply"),
    ],
    ids=["not-json", "not-an-object", "empty", "not-utf8", "deeply-nested"],
)
def test_bad_json_bodies_are_400(body, error):
    response = make_app().dispatch(Request("POST", "/demo/echo", body))
    assert (response.status, response.body) == (400, {"error": error})


def test_a_header_is_found_whatever_the_case_of_its_name():
    request = Request("GET", "/", headers={"authorization": "Bearer x", "X-Other": "y"})
    assert (request.header("Authorization"), request.header("x-other"), request.header("Missing", "none")) == ("Bearer x", "y", "none")


def test_an_http_error_can_carry_headers():
    app = App("demo-service", "/demo")

    @app.route("GET", "/private")
    def private(request):
        raise HttpError(401, "who are you", headers={"WWW-Authenticate": "Bearer"})

    response = app.dispatch(Request("GET", "/demo/private"))
    assert (response.status, response.body, response.headers) == (401, {"error": "who are you"}, {"WWW-Authenticate": "Bearer"})


@pytest.mark.parametrize("raw, expected", [("/api", "/api"), ("api/", "/api"), ("/", ""), ("", ""), ("/a/b/", "/a/b")])
def test_normalise_prefix(raw, expected):
    assert normalise_prefix(raw) == expected


def test_version_and_prefix_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SERVICE_VERSION", "abc123")
    monkeypatch.setenv("ROUTE_PREFIX", "/v2")
    app = App.from_env("demo-service", default_prefix="/demo")
    assert app.dispatch(Request("GET", "/v2/health")).body["version"] == "abc123"


@pytest.mark.parametrize(
    "offered, reused",
    [("abc-123", True), ("Root=1-5e1b4151-5ac6c58f5b5dbd6a", True), ("bad id", False), ("x" * 129, False), ("a\r\nb", False)],
)
def test_request_id_is_reused_only_when_plain(offered, reused):
    request_id = request_id_from({"X-Request-Id": offered})
    assert (request_id == offered) is reused
    assert request_id


# --- over real sockets ----------------------------------------------------------


@pytest.fixture
def server_url():
    server = GracefulServer(("127.0.0.1", 0), make_handler(make_app()))
    # A short poll interval keeps shutdown() (teardown) quick.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fetch(url, data=None, headers=None, method=None):
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with NO_PROXY.open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def access_log_lines(capsys) -> list[dict]:
    """The access log lines so far; waits briefly, as a line is written after its response."""
    captured = ""
    for _ in range(40):
        captured += capsys.readouterr().out
        lines = [json.loads(line) for line in captured.splitlines() if line.strip()]
        found = [line for line in lines if line["message"] == "request"]
        if found:
            return found
        time.sleep(0.05)
    return []


def test_request_id_is_echoed_and_logged(server_url, capsys):
    status, headers, _ = fetch(server_url + "/demo/things/7", headers={"X-Request-Id": "trace-1"})
    assert status == 200
    assert headers["X-Request-Id"] == "trace-1"
    (line,) = access_log_lines(capsys)
    assert line["request_id"] == "trace-1"
    assert (line["level"], line["method"], line["path"], line["status"]) == ("INFO", "GET", "/demo/things/7", 200)
    assert line["duration_ms"] >= 0


def test_request_id_is_generated_when_absent(server_url, capsys):
    status, headers, body = fetch(server_url + "/health?probe=1")
    assert status == 200 and json.loads(body)["status"] == "ok"
    generated = headers["X-Request-Id"]
    assert len(generated) == 36
    assert access_log_lines(capsys)[0]["request_id"] == generated


def test_json_is_returned_with_content_type(server_url):
    status, headers, body = fetch(server_url + "/demo/echo", data=b'{"a": 1}', method="POST")
    assert status == 200 and json.loads(body) == {"a": 1}
    assert headers["Content-Type"] == "application/json"


def test_oversized_body_is_413(server_url):
    # Only the declared length is sent: the server must refuse on it without reading the body
    # (sending the whole body races the server closing the connection after its answer).
    host, port = server_url.split("//", 1)[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.putrequest("POST", "/demo/echo")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(1024 * 1024 + 1))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413 and "larger than" in json.loads(response.read())["error"]
    finally:
        connection.close()


def test_container_health_check(server_url, monkeypatch):
    monkeypatch.setenv("PORT", server_url.rsplit(":", 1)[1])
    assert healthcheck.main() == 0


def test_the_container_health_check_asks_the_configured_health_path(monkeypatch):
    """A service whose health_check_path is /ping: the task passes HEALTH_CHECK_PATH, the kit serves it too."""
    monkeypatch.setenv("HEALTH_CHECK_PATH", "/ping")
    requested = []

    class Recording(App):
        def health(self, request: Request) -> Response:
            requested.append(request.path)
            return super().health(request)

    server = GracefulServer(("127.0.0.1", 0), make_handler(Recording.from_env("demo", "/demo")))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("PORT", str(server.server_address[1]))
        assert healthcheck.main() == 0
    finally:
        server.shutdown()
        server.server_close()
    assert requested == ["/ping"]


def test_container_health_check_fails_when_nothing_listens(monkeypatch):
    server = GracefulServer(("127.0.0.1", 0), make_handler(make_app()))
    port = server.server_address[1]
    server.server_close()  # the port is free again: nothing listens on it
    monkeypatch.setenv("PORT", str(port))
    assert healthcheck.main() == 1


# --- SIGTERM: stop accepting, finish what is in flight, exit 0 -------------------

SLOW_SERVICE = """
import sys
from service_kit import App, Response, logs, run
app = App("slow-service", "/slow")
def slow(request):
    logs.info("slow request started")
    sys.stdin.readline()  # in flight until the test, once the server has its SIGTERM, lets it finish
    return Response(200, {"done": True})
app.add_route("GET", "/wait", slow)
run(app)
"""


def next_log_line(process, timeout=10) -> dict:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no log line within {timeout}s"
    return json.loads(process.stdout.readline())


def start_slow_service():
    env = {**os.environ, "PYTHONPATH": str(COMMON), "HOST": "127.0.0.1", "PORT": "0"}
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_SERVICE], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    return process, next_log_line(process)["port"]  # the "listening" line comes first


def test_sigterm_finishes_the_request_in_flight_then_exits_0():
    process, port = start_slow_service()
    try:
        outcome = {}
        client = threading.Thread(target=lambda: outcome.update(result=fetch(f"http://127.0.0.1:{port}/slow/wait")))
        client.start()
        assert next_log_line(process)["message"] == "slow request started"
        process.send_signal(signal.SIGTERM)
        stopping = next_log_line(process)["message"]  # the server has the signal; the request is still in flight
        process.stdin.write("finish\n")
        process.stdin.flush()
        client.join(timeout=10)
        assert process.wait(timeout=10) == 0
        status, _, body = outcome["result"]
        assert status == 200 and json.loads(body) == {"done": True}
        messages = [stopping] + [json.loads(line)["message"] for line in process.stdout.read().splitlines()]
        assert messages == ["stopping", "request", "stopped"]
        with pytest.raises(urllib.error.URLError):
            NO_PROXY.open(f"http://127.0.0.1:{port}/health", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdin.close()
        process.stdout.close()


# --- malformed requests: always a 400, never a 500 or a silent close ----------------


def raw_exchange(server_url: str, request: bytes, half_close: bool = False) -> bytes:
    """Send raw bytes and read the whole answer (the server closes after one request)."""
    host, port = server_url.split("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "request_bytes, half_close",
    [
        (b"POST /demo/echo HTTP/1.0\r\nContent-Length: \xb2\r\n\r\n{}", False),  # "²" in ISO-8859-1, as headers are read
        (b"POST /demo/echo HTTP/1.0\r\nContent-Length: -1\r\n\r\n", False),
        (b"POST /demo/echo HTTP/1.0\r\nContent-Length: 1e3\r\n\r\n", False),
        (b"POST /demo/echo HTTP/1.0\r\nContent-Length: 10\r\n\r\n{}", True),  # shorter than declared
        (b"POST /demo/echo HTTP/1.0\r\nContent-Length: 400000\r\n\r\n" + b"[" * 200_000 + b"]" * 200_000, False),
        (b"GET /demo/echo HTTP/1.0 extra-word\r\n\r\n", False),
    ],
    ids=["superscript-length", "negative-length", "float-length", "short-body", "deeply-nested-json", "bad-request-line"],
)
def test_malformed_requests_are_answered_400(server_url, request_bytes, half_close):
    answer = raw_exchange(server_url, request_bytes, half_close)
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"400", answer[:200]


# --- under load: a backlog for bursts, a bounded pool of workers ---------------------


def at_once(target, count: int, timeout: float) -> None:
    """Run ``target`` in ``count`` threads started together, and wait for them."""
    clients = [threading.Thread(target=target) for _ in range(count)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=timeout)


def test_listen_backlog_queues_a_burst_of_connections():
    """Connections made while no worker accepts must wait in the backlog, not be dropped."""
    server = GracefulServer(("127.0.0.1", 0), make_handler(make_app()))  # not serving: nothing accepts
    port = server.server_address[1]
    outcomes = []

    def connect():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                outcomes.append(True)
        except OSError:
            outcomes.append(False)

    try:
        at_once(connect, 200, timeout=10)
    finally:
        server.server_close()
    assert outcomes.count(True) == 200


def test_worker_threads_are_bounded_and_every_request_is_served():
    app = App("slow-service", "/slow")
    running, most = [0], [0]
    lock = threading.Lock()

    def slow(request):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return Response(200, {"done": True})

    app.add_route("GET", "/wait", slow)
    server = GracefulServer(("127.0.0.1", 0), make_handler(app), workers=4)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slow/wait"
    results = []
    try:
        at_once(lambda: results.append(fetch(url)[0]), 40, timeout=20)
    finally:
        server.shutdown()
        server.server_close()
    assert results == [200] * 40
    assert most[0] == 4


# --- slow and idle clients: the request head has a deadline, and costs no worker ------------


@pytest.fixture
def start_server():
    """Start a GracefulServer with the given options; every one started is stopped at teardown."""
    started = []

    def start(**options) -> tuple[GracefulServer, int]:
        server = GracefulServer(("127.0.0.1", 0), make_handler(make_app()), **options)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((server, thread))
        return server, server.server_address[1]

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def open_idle_connections(port: int, count: int, partial: bytes = b"GET /hea") -> list:
    """``count`` connections that send the start of a request line and never finish it."""
    connections = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.sendall(partial)
        connections.append(connection)
    return connections


def read_answer(connection: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection; waits at most ``timeout``."""
    connection.settimeout(timeout)
    chunks = []
    try:
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b"\r\n", 1)[0].split(b" ")[1])


def test_idle_connections_that_never_finish_their_request_line_do_not_starve_health(start_server):
    """More idle clients than workers: /health is still answered at once, not after their deadline."""
    server, port = start_server()  # the defaults: 32 workers, a 5s head deadline
    idle = open_idle_connections(port, 50)
    try:
        started = time.monotonic()
        status, _, body = fetch(f"http://127.0.0.1:{port}/health")
        elapsed = time.monotonic() - started
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert elapsed < 2, f"/health took {elapsed:.2f}s"
    finally:
        for connection in idle:
            connection.close()


def test_an_idle_client_is_answered_408_and_dropped_at_the_head_deadline(start_server):
    server, port = start_server(head_deadline=0.5)
    (idle,) = open_idle_connections(port, 1)
    with idle:
        started = time.monotonic()
        answer = read_answer(idle, timeout=10)
        elapsed = time.monotonic() - started
    assert status_of(answer) == 408 and json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"error": "request head not received within 0.5s"}
    assert 0.4 <= elapsed < 5, f"dropped after {elapsed:.2f}s"


def test_a_client_trickling_its_headers_is_dropped_at_the_deadline_all_the_same(start_server):
    """A byte every 50 ms keeps any per-read timeout happy; the deadline is on the whole head."""
    server, port = start_server(head_deadline=0.5)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"GET /health HTTP/1.0\r\nX-Slow: ")
        started = time.monotonic()
        while time.monotonic() - started < 10:
            readable, _, _ = select.select([connection], [], [], 0.05)  # the server answered, or 50 ms passed
            if readable:
                break
            connection.sendall(b"a")
        elapsed = time.monotonic() - started
        assert status_of(read_answer(connection, timeout=5)) == 408
    assert 0.4 <= elapsed < 5, f"dropped after {elapsed:.2f}s"


def test_a_head_arriving_in_pieces_within_the_deadline_is_served(start_server):
    server, port = start_server(head_deadline=5)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for piece in (b"POST /demo/ec", b"ho HTTP/1.0\r\nContent-Le", b"ngth: 8\r\n", b"\r\n{\"a\"", b": 1}"):
            connection.sendall(piece)
        answer = read_answer(connection, timeout=5)
    assert status_of(answer) == 200 and json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"a": 1}


def test_a_head_and_body_in_one_packet_reach_the_route_whole(start_server):
    server, port = start_server()
    body = json.dumps({"text": "x" * 50_000}).encode()
    request = b"POST /demo/echo HTTP/1.0\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        answer = read_answer(connection, timeout=5)
    assert status_of(answer) == 200 and json.loads(answer.split(b"\r\n\r\n", 1)[1]) == json.loads(body)


def test_an_oversized_head_is_431(start_server):
    from service_kit.server import MAX_HEAD_BYTES

    server, port = start_server()
    head = b"GET /health HTTP/1.0\r\nX-Big: " + b"a" * MAX_HEAD_BYTES  # no blank line: the head never ends
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(head[: MAX_HEAD_BYTES + 1])
        assert status_of(read_answer(connection, timeout=5)) == 431


def test_a_trickled_body_holds_a_worker_until_the_body_deadline_only(start_server):
    server, port = start_server(body_deadline=0.5)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"POST /demo/echo HTTP/1.0\r\nContent-Length: 10\r\n\r\n{}")  # 8 bytes never come
        started = time.monotonic()
        answer = read_answer(connection, timeout=10)
        elapsed = time.monotonic() - started
    assert status_of(answer) == 400 and b"body shorter than its Content-Length" in answer
    assert elapsed < 5, f"answered after {elapsed:.2f}s"


def test_past_the_pending_limit_new_connections_wait_in_the_backlog_until_a_slot_frees(start_server):
    server, port = start_server(head_deadline=0.5, max_pending=4)
    idle = open_idle_connections(port, 4)
    try:
        started = time.monotonic()
        status, _, _ = fetch(f"http://127.0.0.1:{port}/health")
        elapsed = time.monotonic() - started
    finally:
        for connection in idle:
            connection.close()
    assert status == 200
    assert 0.4 <= elapsed < 5, f"answered after {elapsed:.2f}s"  # once the idle ones were dropped


def test_shutdown_waits_for_a_head_still_arriving_then_serves_it(start_server):
    server, port = start_server(head_deadline=5)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"GET /health HTTP/1.0\r\n")
        deadline = time.monotonic() + 5
        while not server._pending and time.monotonic() < deadline:  # accepted: the loop is reading its head
            select.select([], [], [], 0.01)
        stopper = threading.Thread(target=server.shutdown)
        stopper.start()
        connection.sendall(b"\r\n")
        answer = read_answer(connection, timeout=5)
        stopper.join(timeout=10)
    assert status_of(answer) == 200
    assert not stopper.is_alive()
