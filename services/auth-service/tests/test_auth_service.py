import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import auth_service
import pytest
from service_kit import Request

KEY = b"k" * 32
CLIENT_SECRET = b"c" * 32
CLIENT = {"Authorization": "Bearer " + CLIENT_SECRET.decode()}
NOW = 1_800_000_000


def call(app, method, path, body=None, headers=None):
    """Token requests carry the client credential unless ``headers`` says otherwise."""
    raw = b"" if body is None else json.dumps(body).encode()
    if headers is None:
        headers = CLIENT if path.endswith("/token") else {}
    response = app.dispatch(Request(method, path, raw, headers))
    return response.status, response.body


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def app(monkeypatch, clock):
    monkeypatch.delenv("ROUTE_PREFIX", raising=False)
    return auth_service.create_app(KEY, CLIENT_SECRET, clock=clock)


@pytest.mark.parametrize("path", ["/health", "/auth/health"])
def test_health(app, path):
    status, body = call(app, "GET", path)
    assert status == 200 and body["status"] == "ok" and body["service"] == "auth-service"


def test_token_round_trip(app):
    status, issued = call(app, "POST", "/auth/token", {"subject": "ada", "ttlSeconds": 60})
    assert status == 200
    assert issued["tokenType"] == "Bearer" and issued["expiresAt"] == NOW + 60
    status, verified = call(app, "POST", "/auth/verify", {"token": issued["token"]})
    assert (status, verified) == (200, {"valid": True, "subject": "ada", "expiresAt": NOW + 60})


def test_default_lifetime(app):
    assert call(app, "POST", "/auth/token", {"subject": "ada"})[1]["expiresAt"] == NOW + auth_service.DEFAULT_TTL_SECONDS


def test_expired_token_is_401(app, clock):
    token = call(app, "POST", "/auth/token", {"subject": "ada", "ttlSeconds": 60})[1]["token"]
    clock.now += 60
    assert call(app, "POST", "/auth/verify", {"token": token}) == (401, {"valid": False, "error": "token expired"})


def test_token_signed_with_another_key_is_401(app):
    foreign, _ = auth_service.issue_token(b"x" * 32, "ada", 60, NOW)
    assert call(app, "POST", "/auth/verify", {"token": foreign}) == (401, {"valid": False, "error": "bad signature"})


def test_tampered_claims_are_401(app):
    token = call(app, "POST", "/auth/token", {"subject": "ada"})[1]["token"]
    payload, signature = token.split(".")
    forged = auth_service._b64encode(json.dumps({"sub": "root", "iat": NOW, "exp": NOW + 10**6}).encode())
    assert call(app, "POST", "/auth/verify", {"token": f"{forged}.{signature}"})[1]["error"] == "bad signature"


@pytest.mark.parametrize("token", ["nodot", ".", "abc.", ".abc", "ünïcode.sig", "a.b.c"])
def test_malformed_tokens_are_401(app, token):
    status, body = call(app, "POST", "/auth/verify", {"token": token})
    assert status == 401 and body["valid"] is False


def test_signed_garbage_is_malformed():
    payload = auth_service._b64encode(b"[1, 2]")
    token = f"{payload}.{auth_service._signature(KEY, payload)}"
    with pytest.raises(auth_service.TokenError, match="malformed"):
        auth_service.verify_token(KEY, token, NOW)


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/auth/token", {}, "subject"),
        ("/auth/token", {"subject": ""}, "subject"),
        ("/auth/token", {"subject": "ada", "ttlSeconds": 0}, "ttlSeconds"),
        ("/auth/token", {"subject": "ada", "ttlSeconds": 3601}, "ttlSeconds"),
        ("/auth/token", {"subject": "ada", "ttlSeconds": "60"}, "ttlSeconds"),
        ("/auth/verify", {}, "token"),
        ("/auth/verify", {"token": 5}, "token"),
    ],
)
def test_invalid_requests_are_400(app, path, body, field):
    status, response = call(app, "POST", path, body)
    assert status == 400 and field in response["details"]


@pytest.mark.parametrize(
    "value, problem",
    [(None, "is not set"), ("", "is not set"), ("short", "shorter than 32")],
)
def test_signing_key_is_required(monkeypatch, value, problem):
    if value is None:
        monkeypatch.delenv("AUTH_SIGNING_KEY", raising=False)
    else:
        monkeypatch.setenv("AUTH_SIGNING_KEY", value)
    with pytest.raises(ValueError, match=problem):
        auth_service.signing_key_from_env()


def test_refuses_to_start_without_a_key():
    service_dir = Path(auth_service.__file__).parent
    env = {key: value for key, value in os.environ.items() if key != "AUTH_SIGNING_KEY"}
    env.update(PYTHONPATH=str(service_dir.parent / "common"), PORT="0", HOST="127.0.0.1")
    finished = subprocess.run([sys.executable, str(service_dir / "auth_service.py")], env=env, capture_output=True, text=True, timeout=20)
    assert finished.returncode == 2
    line = json.loads(finished.stdout)
    assert (line["level"], line["message"]) == ("ERROR", "cannot start")
    assert "AUTH_SIGNING_KEY is not set" in line["reason"]


# --- minting needs the client credential -----------------------------------------------------


def answer(app, headers, body=None):
    raw = json.dumps({"subject": "pipeline-integration-test"} if body is None else body).encode()
    return app.dispatch(Request("POST", "/auth/token", raw, headers))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": "Basic " + CLIENT_SECRET.decode()},
        {"Authorization": CLIENT_SECRET.decode()},
        {"X-Client-Secret": CLIENT_SECRET.decode()},
    ],
    ids=["none", "empty", "no-credential", "blank-credential", "basic-scheme", "no-scheme", "other-header"],
)
def test_a_token_request_without_a_bearer_credential_is_401(app, headers):
    response = answer(app, headers)
    assert response.status == 401
    assert response.body == {"error": "a client credential is required: Authorization: Bearer <client secret>"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(
    "credential",
    ["c" * 31, "c" * 33, "C" * 32, "c" * 31 + "d", KEY.decode(), "ünïcödé" * 5],
    ids=["shorter", "longer", "other-case", "last-char", "signing-key", "non-ascii"],
)
def test_a_wrong_client_credential_is_401(app, credential):
    response = answer(app, {"Authorization": f"Bearer {credential}"})
    assert (response.status, response.body) == (401, {"error": "invalid client credential"})
    assert "token" not in response.body


@pytest.mark.parametrize(
    "headers", [{"authorization": "bearer " + CLIENT_SECRET.decode()}, {"AUTHORIZATION": "BEARER  " + CLIENT_SECRET.decode() + " "}]
)
def test_the_header_and_scheme_are_case_insensitive(app, headers):
    assert answer(app, headers).status == 200


def test_the_credential_is_checked_before_the_body(app):
    """An unauthenticated caller learns nothing about what a valid request looks like."""
    assert answer(app, {}, body={"subject": ""}).status == 401
    assert app.dispatch(Request("POST", "/auth/token", b"{not json", {})).status == 401


def test_the_credential_is_compared_in_constant_time(app, monkeypatch):
    compared = []
    real = auth_service.hmac.compare_digest
    monkeypatch.setattr(auth_service.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    answer(app, {"Authorization": "Bearer short"})
    ((offered, expected),) = compared
    assert len(offered) == len(expected) == 32  # SHA-256 digests: the secret's length does not show either


def test_without_a_client_secret_minting_is_refused_and_verifying_still_works(monkeypatch, clock):
    monkeypatch.delenv("ROUTE_PREFIX", raising=False)
    app = auth_service.create_app(KEY, None, clock=clock)
    assert answer(app, {}).status == 401  # no credential: the same answer as always
    response = answer(app, CLIENT)
    assert (response.status, response.body) == (503, {"error": "token minting is disabled: the service has no AUTH_CLIENT_SECRET"})
    token, _ = auth_service.issue_token(KEY, "ada", 60, NOW)
    assert call(app, "POST", "/auth/verify", {"token": token})[0] == 200
    assert call(app, "GET", "/auth/health")[0] == 200


def test_verifying_needs_no_credential(app):
    token = call(app, "POST", "/auth/token", {"subject": "ada"})[1]["token"]
    assert call(app, "POST", "/auth/verify", {"token": token}, headers={})[0] == 200


@pytest.mark.parametrize(
    "value, outcome",
    [(None, None), ("", None), ("short", "shorter than 32"), ("k" * 32, "must differ from AUTH_SIGNING_KEY"), ("s" * 32, b"s" * 32)],
)
def test_the_client_secret_from_the_environment(monkeypatch, value, outcome):
    if value is None:
        monkeypatch.delenv("AUTH_CLIENT_SECRET", raising=False)
    else:
        monkeypatch.setenv("AUTH_CLIENT_SECRET", value)
    if isinstance(outcome, str):
        with pytest.raises(ValueError, match=outcome):
            auth_service.client_secret_from_env(KEY)
    else:
        assert auth_service.client_secret_from_env(KEY) == outcome


# --- over HTTP, as the pipeline's integration test calls it -----------------------------------

REPO = Path(__file__).resolve().parents[3]


def start_service(**env_vars):
    service_dir = Path(auth_service.__file__).parent
    env = {key: value for key, value in os.environ.items() if not key.startswith("AUTH_")}
    env.update(PYTHONPATH=str(service_dir.parent / "common"), PORT="0", HOST="127.0.0.1", AUTH_SIGNING_KEY="s" * 40, **env_vars)
    process = subprocess.Popen([sys.executable, str(service_dir / "auth_service.py")], env=env, stdout=subprocess.PIPE, text=True)
    # A thread reads the lines: select() on the pipe would miss a line already in the reader's buffer.
    queued: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [queued.put(line) for line in process.stdout], daemon=True).start()
    lines = []
    while True:
        try:
            line = json.loads(queued.get(timeout=15))
        except queue.Empty:
            stop_service(process)
            raise AssertionError("auth-service did not start within 15s") from None
        lines.append(line)
        if line["message"] == "listening":
            return process, line["port"], lines


def stop_service(process) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def integration_test(monkeypatch):
    """pipeline/integration_test.py, the script the pipeline runs against staging."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("pipeline_integration_test", REPO / "pipeline" / "integration_test.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclass looks itself up there
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):  # it uses urlopen: 127.0.0.1 directly
        monkeypatch.delenv(name, raising=False)
    spec.loader.exec_module(module)
    return module


# The check examples/shop/pipeline.yaml and parameters/pipeline.yaml define for auth-service.
PIPELINE_CHECK = {"service": "auth-service", "method": "POST", "path": "/auth/token", "body": {"subject": "pipeline-integration-test"}}


@pytest.mark.parametrize("client_secret", [None, "p" * 40], ids=["minting-disabled", "minting-enabled"])
def test_the_pipelines_unauthenticated_token_request_is_401(client_secret, integration_test):
    process, port, lines = start_service(**({} if client_secret is None else {"AUTH_CLIENT_SECRET": client_secret}))
    try:
        base = f"http://127.0.0.1:{port}"
        assert integration_test.request(base, {**PIPELINE_CHECK, "expect_status": 401}, timeout=5)[1] is None
        assert integration_test.request(base, {**PIPELINE_CHECK, "expect_status": 200}, timeout=5)[1] == "status 401, expected 200"
    finally:
        stop_service(process)
    warned = [line for line in lines if line["message"] == "token minting disabled"]
    assert len(warned) == (1 if client_secret is None else 0)


def test_a_client_with_the_secret_mints_over_http():
    import urllib.request

    process, port, _ = start_service(AUTH_CLIENT_SECRET="p" * 40)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/auth/token",
            data=json.dumps({"subject": "ada"}).encode(),
            headers={"Authorization": "Bearer " + "p" * 40, "Content-Type": "application/json"},
            method="POST",
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=5) as response:
            assert response.status == 200 and json.loads(response.read())["tokenType"] == "Bearer"
    finally:
        stop_service(process)


@pytest.mark.parametrize("secret, problem", [("tiny-secret", "shorter than 32"), ("s" * 40, "must differ from AUTH_SIGNING_KEY")])
def test_refuses_to_start_with_an_unusable_client_secret(secret, problem):
    service_dir = Path(auth_service.__file__).parent
    env = {key: value for key, value in os.environ.items() if not key.startswith("AUTH_")}
    env.update(PYTHONPATH=str(service_dir.parent / "common"), PORT="0", HOST="127.0.0.1", AUTH_SIGNING_KEY="s" * 40)
    env["AUTH_CLIENT_SECRET"] = secret
    finished = subprocess.run([sys.executable, str(service_dir / "auth_service.py")], env=env, capture_output=True, text=True, timeout=20)
    assert finished.returncode == 2
    line = json.loads(finished.stdout)
    assert (line["message"], problem in line["reason"]) == ("cannot start", True)
    assert secret not in finished.stdout
