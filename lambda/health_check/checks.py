"""Calling health endpoints: one check, and many at once under a deadline.

A check passes when the endpoint answers 2xx within its timeout with a JSON body
whose ``status`` is healthy (the sample services answer
``{"status": "ok", "service": NAME, "version": VERSION}``).  A redirect is followed
only to the same scheme and host: a health check must not be sent elsewhere.  Every
failure is described by service, URL and reason, and carries a category the callers act on.
Nothing of a response body reaches a log line or a pipeline message (it may hold
anything the server chose to send): only the status, the body's length and the timing.
Categories:
the lifecycle hook waits on connection-level failures (a task still starting)
but fails at once on ``status``/``bad_body`` (a task that is up and wrong).
"""

import base64
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from . import logs

HEALTHY_STATUSES = {"ok", "healthy", "pass", "up"}
MAX_BODY_BYTES = 64 * 1024
MAX_THREADS = 32
# How long past its own timeout a check may run before it is abandoned: urllib's
# timeout bounds each socket operation, not the whole exchange, so a server that
# trickles bytes could otherwise hold a check open much longer.
ABANDON_GRACE_SECONDS = 1.0
USER_AGENT = "health-check-lambda/1"

# Categories of CheckResult.
PASSED = "passed"
REFUSED = "refused"
TIMEOUT = "timeout"
STATUS = "status"
BAD_BODY = "bad_body"
ERROR = "error"
# Connection-level failures: a task that is still starting looks like this, so
# the lifecycle hook waits on them (up to its bound) rather than failing at once.
NOT_READY = {REFUSED, TIMEOUT, ERROR}



class OffsiteRedirect(urllib.error.HTTPError):
    """A redirect to another scheme or host, refused."""


class SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to the same scheme and host:port (urllib has resolved a relative Location)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if _origin(newurl) != _origin(req.full_url):
            raise OffsiteRedirect(req.full_url, code, "redirect to another host or scheme", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


# No proxies, on purpose: a health check measures the direct path to the service.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), SameOriginRedirects())


@dataclass(frozen=True)
class Endpoint:
    service: str
    url: str  # as configured; it may carry user:password@, so log and report display_url
    timeout: float

    @property
    def display_url(self) -> str:
        """The URL without its credentials: the only form that goes into a log line or a result message."""
        return logs.without_credentials(self.url)


def request_for(url: str) -> urllib.request.Request:
    """The request for a check.  Credentials in the URL (``https://user:password@host/...``) are sent
    as HTTP Basic authentication and taken out of the URL: left in, urllib would look up
    ``user:password@host`` as a host name, sending the password to the DNS resolver."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if at:
        user, _, password = userinfo.partition(":")
        pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        url = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return urllib.request.Request(url, headers=headers)


@dataclass(frozen=True)
class CheckResult:
    endpoint: Endpoint
    category: str
    reason: str = ""
    status: int | None = None
    latency_ms: float = 0.0
    length: int | None = None  # bytes of the body read; the body itself is never kept

    @property
    def passed(self) -> bool:
        return self.category == PASSED

    def describe(self) -> str:
        verdict = "healthy" if self.passed else self.reason
        return f"{self.endpoint.service} {self.endpoint.display_url}: {verdict}"

    def as_log_fields(self) -> dict:
        return {
            "service": self.endpoint.service,
            "url": self.endpoint.display_url,
            "passed": self.passed,
            "category": self.category,
            "reason": self.reason,
            "status": self.status,
            "length": self.length,
            "latency_ms": round(self.latency_ms, 1),
        }


# --- configuration ------------------------------------------------------------


def parse_endpoints(raw, default_timeout: float) -> list[Endpoint]:
    """Endpoints from ``{"endpoints": [{"service", "url", "timeoutSeconds"?}]}``.

    ``raw`` is that JSON as a string or already decoded.  Raises ValueError with
    a message that says what is wrong.
    """
    data = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    if not isinstance(data, dict) or not isinstance(data.get("endpoints"), list) or not data["endpoints"]:
        raise ValueError('expected {"endpoints": [{"service": ..., "url": ...}, ...]} with at least one endpoint')
    return [_endpoint(item, index, default_timeout) for index, item in enumerate(data["endpoints"])]


def _endpoint(item, index: int, default_timeout: float) -> Endpoint:
    if not isinstance(item, dict):
        raise ValueError(f"endpoints[{index}] must be an object")
    service, url = item.get("service"), item.get("url")
    if not isinstance(service, str) or not service:
        raise ValueError(f"endpoints[{index}].service must be a non-empty string")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"endpoints[{index}].url must be an http:// or https:// URL")
    timeout = item.get("timeoutSeconds", default_timeout)
    # json.loads accepts NaN and Infinity; neither is a timeout.
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise ValueError(f"endpoints[{index}].timeoutSeconds must be a positive finite number")
    return Endpoint(service=service, url=url, timeout=float(timeout))


# --- one check ----------------------------------------------------------------


def check_endpoint(endpoint: Endpoint, timeout: float | None = None) -> CheckResult:
    """Call one endpoint; never raises."""
    timeout = endpoint.timeout if timeout is None else timeout
    started = time.monotonic()
    category, reason, status, length = _call(endpoint, timeout)
    latency_ms = (time.monotonic() - started) * 1000
    return CheckResult(endpoint, category, reason, status, latency_ms, length)


def _call(endpoint: Endpoint, timeout: float) -> tuple[str, str, int | None, int | None]:
    try:
        request = request_for(endpoint.url)
    except ValueError:  # urlsplit refuses some malformed authorities, such as an unclosed "[" (IPv6)
        return ERROR, "connection failed: not a usable URL", None, None
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
            body = response.read(MAX_BODY_BYTES)
    except OffsiteRedirect as error:
        error.close()
        return STATUS, f"status {error.code}: a redirect to another host or scheme, not followed", error.code, None
    except urllib.error.HTTPError as error:  # non-2xx after same-origin redirects
        error.close()
        return STATUS, f"status {error.code}", error.code, None
    except urllib.error.URLError as error:
        return (*_connection_failure(error.reason, timeout), None)
    except Exception as error:  # socket errors, broken HTTP, anything else
        return (*_connection_failure(error, timeout), None)
    problem = body_problem(body, endpoint.service)
    if problem:
        return BAD_BODY, f"bad body ({len(body)} bytes): {problem}", status, len(body)
    return PASSED, "", status, len(body)


def _connection_failure(cause, timeout: float) -> tuple[str, str, None]:
    if isinstance(cause, ConnectionRefusedError):
        return REFUSED, "connection refused", None
    if isinstance(cause, TimeoutError):  # socket.timeout is TimeoutError since 3.10
        return TIMEOUT, f"timeout after {timeout:.3g}s", None
    return ERROR, f"connection failed: {type(cause).__name__}", None


def body_problem(body: bytes, expected_service: str) -> str:
    """What is wrong with a health response body, or "" when it says healthy.

    The answer names the rule the body breaks and never quotes the body.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return "not JSON"
    if not isinstance(data, dict):
        return "not a JSON object"
    status = data.get("status")
    if not isinstance(status, str) or status.lower() not in HEALTHY_STATUSES:
        return 'its "status" is not one of ' + ", ".join(sorted(HEALTHY_STATUSES))
    # A body naming another service means the route or target group is miswired.
    reported = data.get("service")
    if reported is not None and reported != expected_service:
        return f'its "service" names another service, expected {expected_service!r}'
    return ""


# --- many checks --------------------------------------------------------------


def check_all(endpoints: list[Endpoint], deadline: float) -> list[CheckResult]:
    """Check every endpoint concurrently; return by ``deadline`` (a monotonic time).

    Each check's timeout is its own, cut short where the deadline comes first.
    Checks still running when they should have finished are reported as timeouts
    and left behind (their threads end with their socket timeouts).
    """
    if not endpoints:
        return []
    if _remaining(deadline) <= 0:
        return [CheckResult(endpoint, TIMEOUT, "not checked: no time left before the deadline") for endpoint in endpoints]
    executor = ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(endpoints)))
    try:
        futures = {endpoint: executor.submit(check_endpoint, endpoint, _time_left(endpoint, deadline)) for endpoint in endpoints}
        longest = max(_time_left(endpoint, deadline) for endpoint in endpoints)
        wait(futures.values(), timeout=min(longest + ABANDON_GRACE_SECONDS, _remaining(deadline)))
        return [_outcome(endpoint, future, deadline) for endpoint, future in futures.items()]
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _time_left(endpoint: Endpoint, deadline: float) -> float:
    # urllib treats 0 as "non-blocking"; a tiny positive value fails fast instead.
    return max(0.001, min(endpoint.timeout, _remaining(deadline)))


def _outcome(endpoint: Endpoint, future, deadline: float) -> CheckResult:
    if future.done() and not future.cancelled():
        try:
            return future.result()
        except Exception as error:  # check_endpoint does not raise; belt and braces
            return CheckResult(endpoint, ERROR, f"check crashed: {error!r}")
    return CheckResult(endpoint, TIMEOUT, f"timeout after {endpoint.timeout:g}s (no complete response by the deadline)")


def deadline_for(context, margin_seconds: float, fallback_seconds: float = 60.0) -> float:
    """The monotonic time by which a call must be done: Lambda's remaining time less a margin."""
    try:
        remaining = context.get_remaining_time_in_millis() / 1000.0
    except Exception:  # no context (local runs, tests)
        remaining = fallback_seconds
    return time.monotonic() + max(0.0, remaining - margin_seconds)
