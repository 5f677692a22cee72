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
