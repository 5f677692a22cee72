import json

import notification_service
import pytest
from service_kit import Request

GOOD = {"recipient": "ada@example.com", "subject": "Welcome", "body": "Hello, Ada."}


def call(app, method, path, body=None, request_id="req-1"):
    raw = b"" if body is None else json.dumps(body).encode()
    response = app.dispatch(Request(method, path, raw, request_id=request_id))
    return response.status, response.body


@pytest.fixture
def app(monkeypatch):
    monkeypatch.delenv("ROUTE_PREFIX", raising=False)
    monkeypatch.delenv("SERVICE_VERSION", raising=False)
    return notification_service.create_app()


@pytest.mark.parametrize("path", ["/health", "/notification/health"])
def test_health(app, path):
    assert call(app, "GET", path) == (200, {"status": "ok", "service": "notification-service", "version": "dev"})


def test_message_is_accepted_and_logged_without_its_body(app, capsys):
    status, body = call(app, "POST", "/notification/messages", GOOD)
    assert status == 202
    assert body["status"] == "accepted" and len(body["id"]) == 36
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["message"] == "message accepted"
    assert (line["message_id"], line["request_id"], line["recipient"]) == (body["id"], "req-1", "ada@example.com")
    assert "Hello, Ada." not in json.dumps(line)


def test_each_message_gets_its_own_id(app):
    first = call(app, "POST", "/notification/messages", GOOD)[1]["id"]
    second = call(app, "POST", "/notification/messages", GOOD)[1]["id"]
    assert first != second


@pytest.mark.parametrize(
    "change, field",
    [
        ({"recipient": None}, "recipient"),
        ({"recipient": "not-an-address"}, "recipient"),
        ({"recipient": "a@b"}, "recipient"),
        ({"recipient": "x" * 250 + "@example.com"}, "recipient"),
        ({"subject": ""}, "subject"),
        ({"subject": "s" * 201}, "subject"),
        ({"body": 42}, "body"),
        ({"body": "b" * 10_001}, "body"),
        ({"priority": "high"}, "unknown fields"),
    ],
)
def test_invalid_messages_are_400_naming_the_field(app, change, field):
    message = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    status, body = call(app, "POST", "/notification/messages", message)
    assert status == 400
    assert field in body["details"]


def test_wrong_method_is_405(app):
    assert call(app, "GET", "/notification/messages")[0] == 405
