import json
import os
import subprocess
import sys
from pathlib import Path

import auth_service
import pytest
from service_kit import Request

KEY = b"k" * 32
NOW = 1_800_000_000


def call(app, method, path, body=None):
    raw = b"" if body is None else json.dumps(body).encode()
    response = app.dispatch(Request(method, path, raw))
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
    return auth_service.create_app(KEY, clock=clock)


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
