import json

import api_service
import pytest
from service_kit import Request


def call(app, method, path, body=None):
    raw = b"" if body is None else json.dumps(body).encode()
    response = app.dispatch(Request(method, path, raw))
    return response.status, response.body, response.headers


@pytest.fixture
def app(monkeypatch):
    monkeypatch.delenv("ROUTE_PREFIX", raising=False)
    monkeypatch.setenv("SERVICE_VERSION", "7f3c2a1")
    return api_service.create_app()


@pytest.mark.parametrize("path", ["/health", "/api/health"])
def test_health(app, path):
    assert call(app, "GET", path)[:2] == (200, {"status": "ok", "service": "api-service", "version": "7f3c2a1"})


def test_version_defaults_to_dev(monkeypatch):
    monkeypatch.delenv("SERVICE_VERSION", raising=False)
    assert call(api_service.create_app(), "GET", "/health")[1]["version"] == "dev"


def test_items_start_empty(app):
    assert call(app, "GET", "/api/items")[:2] == (200, {"items": []})


def test_create_then_read_items(app):
    status, created, headers = call(app, "POST", "/api/items", {"name": " widget ", "price": 9.5})
    assert (status, created) == (201, {"id": 1, "name": "widget", "price": 9.5})
    assert headers["Location"] == "/api/items/1"
    assert call(app, "GET", "/api/items/1")[:2] == (200, created)
    call(app, "POST", "/api/items", {"name": "gadget"})
    assert [item["name"] for item in call(app, "GET", "/api/items")[1]["items"]] == ["widget", "gadget"]


@pytest.mark.parametrize("item_id", ["99", "abc", "-1"])
def test_unknown_item_is_404(app, item_id):
    assert call(app, "GET", f"/api/items/{item_id}")[0] == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "price": -1}, "price"),
        ({"name": "ok", "price": "3"}, "price"),
        ({"name": "ok", "price": True}, "price"),
        ({"name": "ok", "colour": "red"}, "unknown fields"),
    ],
)
def test_invalid_items_are_400_naming_the_field(app, body, field):
    status, response, _ = call(app, "POST", "/api/items", body)
    assert status == 400
    assert response["error"] == "invalid item"
    assert field in response["details"]


def test_non_json_body_is_400(app):
    assert app.dispatch(Request("POST", "/api/items", b"name=x")).status == 400


def test_items_are_served_only_under_the_prefix(app):
    assert call(app, "GET", "/items")[0] == 404


def test_the_prefix_follows_route_prefix(monkeypatch):
    monkeypatch.setenv("ROUTE_PREFIX", "/shop-api")
    app = api_service.create_app()
    assert call(app, "GET", "/shop-api/items")[0] == 200
    assert call(app, "GET", "/shop-api/health")[0] == 200


def test_store_is_bounded(app, monkeypatch):
    monkeypatch.setattr(api_service, "MAX_ITEMS", 2)
    for name in ("a", "b"):
        assert call(app, "POST", "/api/items", {"name": name})[0] == 201
    assert call(app, "POST", "/api/items", {"name": "c"})[0] == 507
