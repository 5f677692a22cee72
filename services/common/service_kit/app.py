"""Routing and request/response values, free of sockets so they test directly."""

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from . import logs

Handler = Callable[["Request"], "Response"]


class HttpError(Exception):
    """Raised by a route to answer with an error status and a JSON body."""

    def __init__(self, status: int, message: str, details: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = dict(headers or {})  # sent with the answer (WWW-Authenticate, say)


@dataclass
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    request_id: str = ""
    params: dict = field(default_factory=dict)

    def header(self, name: str, default: str = "") -> str:
        """A request header's value, whatever the case of its name as sent (the first, if repeated)."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return default

    def json(self) -> dict:
        """The body as a JSON object, or a 400."""
        try:
            data = json.loads(self.body or b"null")
        except ValueError:
            raise HttpError(400, "body is not valid JSON") from None
        except RecursionError:  # the decoder recurses per nesting level
            raise HttpError(400, "body is nested too deeply") from None
        if not isinstance(data, dict):
            raise HttpError(400, "body must be a JSON object")
        return data


@dataclass
class Response:
    status: int
    body: dict | None = None
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Handler


def _compile(path: str) -> re.Pattern:
    """ "/items/{item_id}" -> ^/items/(?P<item_id>[^/]+)$"""
    parts = re.split(r"\{(\w+)\}", path)  # literal, name, literal, name, ...
    regex = "".join(f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts))
    return re.compile(f"^{regex}$")


def normalise_prefix(prefix: str) -> str:
    """ "api/", "/api" -> "/api"; "/" or "" -> "" (no prefix)."""
    stripped = prefix.strip("/")
    return f"/{stripped}" if stripped else ""


class App:
    """A service: its name, version, route prefix and routes.

    The health endpoint is served at ``/health`` and at the service's configured
    health path (``HEALTH_CHECK_PATH``, the target group's health check), and at
    ``<prefix>/health`` (the ALB forwards ``/api/*`` unchanged, so ``/api/health``
    is what the public URL and the canary reach).
    """

    def __init__(self, name: str, prefix: str, version: str = "dev", health_path: str = "/health"):
        self.name = name
        self.prefix = normalise_prefix(prefix)
        self.version = version
        self._routes: list[Route] = []
        for path in dict.fromkeys(("/health", health_path)):
            self.add_route("GET", path, self.health, prefixed=False)
        if self.prefix:
            self.add_route("GET", "/health", self.health)

    @classmethod
    def from_env(cls, name: str, default_prefix: str) -> "App":
        """ROUTE_PREFIX, SERVICE_VERSION and HEALTH_CHECK_PATH from the environment (the task definition sets them)."""
        prefix = os.environ.get("ROUTE_PREFIX", default_prefix)
        health_path = os.environ.get("HEALTH_CHECK_PATH", "") or "/health"
        return cls(name, prefix, os.environ.get("SERVICE_VERSION", "") or "dev", health_path)

    def add_route(self, method: str, path: str, handler: Handler, prefixed: bool = True) -> None:
        full_path = (self.prefix if prefixed else "") + path
        self._routes.append(Route(method.upper(), _compile(full_path), handler))

    def route(self, method: str, path: str):
        """Decorator form of add_route, for paths under the prefix."""

        def register(handler: Handler) -> Handler:
            self.add_route(method, path, handler)
            return handler

        return register

    def health(self, request: Request) -> Response:
        return Response(200, {"status": "ok", "service": self.name, "version": self.version})

    def dispatch(self, request: Request) -> Response:
        """The response to a request; never raises."""
        try:
            handler, params = self._match(request.method, request.path)
            request.params = params
            return handler(request)
        except HttpError as error:
            return error_response(error)
        except Exception:
            logs.exception("unhandled error", request_id=request.request_id, path=request.path)
            return Response(500, {"error": "internal error"})

    def _match(self, method: str, path: str) -> tuple[Handler, dict]:
        allowed = []
        for route in self._routes:
            found = route.pattern.match(path)
            if not found:
                continue
            if route.method == method:
                return route.handler, found.groupdict()
            allowed.append(route.method)
        if allowed:
            raise MethodNotAllowed(sorted(set(allowed)))
        raise HttpError(404, "not found")


class MethodNotAllowed(HttpError):
    def __init__(self, allowed: list[str]):
        super().__init__(405, "method not allowed")
        self.allowed = allowed


def error_response(error: HttpError) -> Response:
    body = {"error": error.message}
    if error.details:
        body["details"] = error.details
    headers = dict(error.headers)
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    return Response(error.status, body, headers)
