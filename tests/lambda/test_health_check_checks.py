"""checks.py: endpoint parsing, body rules, and concurrency under a deadline."""

import time

import pytest
from health_check import checks
from health_check.checks import Endpoint
from local_servers import LEAKY_BODY


def endpoint(url, service="api-service", timeout=0.5):
    return Endpoint(service=service, url=url, timeout=timeout)


# --- configuration ----------------------------------------------------------------


def test_parse_endpoints_with_defaults_and_overrides():
    parsed = checks.parse_endpoints(
        '{"endpoints": [{"service": "a", "url": "https://x/a/health"}, {"service": "b", "url": "http://y/b/health", "timeoutSeconds": 2}]}',
        default_timeout=5,
    )
    assert parsed == [Endpoint("a", "https://x/a/health", 5.0), Endpoint("b", "http://y/b/health", 2.0)]


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("not json", "Expecting value"),
        ("[]", "expected {"),
        ('{"endpoints": []}', "at least one"),
        ('{"endpoints": ["x"]}', "endpoints[0] must be an object"),
        ('{"endpoints": [{"url": "http://x"}]}', "endpoints[0].service"),
        ('{"endpoints": [{"service": "a", "url": "ftp://x"}]}', "endpoints[0].url"),
        ('{"endpoints": [{"service": "a", "url": "http://x", "timeoutSeconds": 0}]}', "timeoutSeconds"),
        ('{"endpoints": [{"service": "a", "url": "http://x", "timeoutSeconds": true}]}', "timeoutSeconds"),
        ('{"endpoints": [{"service": "a", "url": "http://x", "timeoutSeconds": NaN}]}', "timeoutSeconds"),
        ('{"endpoints": [{"service": "a", "url": "http://x", "timeoutSeconds": Infinity}]}', "timeoutSeconds"),
        ('{"endpoints": [{"service": "a", "url": "http://x", "timeoutSeconds": 1e999}]}', "timeoutSeconds"),
    ],
)
def test_parse_endpoints_rejects_bad_shapes(raw, problem):
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("{", r"\{")):
        checks.parse_endpoints(raw, default_timeout=5)


@pytest.mark.parametrize(
    "body, problem",
    [
        (b'{"status": "ok", "service": "api-service", "version": "1"}', ""),
        (b'{"status": "OK"}', ""),
        (b'{"status": "healthy"}', ""),
        (b'{"status": "degraded"}', '"status" is not one of'),
        (b'{"healthy": true}', '"status" is not one of'),
        (b'["ok"]', "not a JSON object"),
        (b"<html>", "not JSON"),
        (b'{"status": "ok", "service": "auth-service"}', "names another service, expected 'api-service'"),
        (b"[" * 100_000, "not JSON"),
    ],
    ids=["ok", "upper-case", "healthy", "degraded", "no-status", "array", "html", "other-service", "nested"],
)
def test_body_rules(body, problem):
    found = checks.body_problem(body, "api-service")
    assert (problem in found) if problem else found == ""
    assert "degraded" not in found and "auth-service" not in found and "html" not in found  # the body is never quoted


def test_deadline_keeps_a_margin_from_the_remaining_time(context):
    context.remaining_ms = 10_000
    before = time.monotonic()
    deadline = checks.deadline_for(context, margin_seconds=3)
    assert 6.9 < deadline - before < 7.1


def test_deadline_without_a_context_uses_the_fallback():
    before = time.monotonic()
    assert 59 < checks.deadline_for(None, 1, fallback_seconds=60) - before < 60


# --- calling real servers ------------------------------------------------------------


def test_each_failure_is_reported_for_what_it_is(services, stopped_service, misbehaving):
    targets = [
        endpoint(services["api-service"].health_url),
        endpoint(stopped_service.health_url, "notification-service"),
        endpoint(misbehaving.start("error") + "/health", "error-service"),
        endpoint(misbehaving.start("hang") + "/health", "hang-service"),
        endpoint(misbehaving.start("not_json") + "/health", "html-service"),
        endpoint(misbehaving.start("degraded") + "/health", "degraded-service"),
    ]
    results = checks.check_all(targets, time.monotonic() + 10)
    outcome = {r.endpoint.service: (r.category, r.reason, r.status) for r in results}
    assert outcome["api-service"] == (checks.PASSED, "", 200)
    assert outcome["notification-service"] == (checks.REFUSED, "connection refused", None)
    assert outcome["error-service"] == (checks.STATUS, "status 500", 500)
    assert outcome["hang-service"][:2] == (checks.TIMEOUT, "timeout after 0.5s")
    assert outcome["html-service"][0] == checks.BAD_BODY and "not JSON" in outcome["html-service"][1]
    assert outcome["degraded-service"][0] == checks.BAD_BODY and '"status" is not one of' in outcome["degraded-service"][1]
    assert [r.endpoint for r in results] == targets  # results come back in the order asked


def test_failure_descriptions_name_service_url_and_reason(misbehaving):
    url = misbehaving.start("error") + "/health"
    (result,) = checks.check_all([endpoint(url, "api-service")], time.monotonic() + 5)
    assert result.describe() == f"api-service {url}: status 500"


def test_a_passed_check_measures_its_latency(services):
    (result,) = checks.check_all([endpoint(services["auth-service"].health_url, "auth-service")], time.monotonic() + 5)
    assert result.passed and 0 < result.latency_ms < 500


def test_ten_hanging_endpoints_take_one_timeout_not_ten(misbehaving):
    timeout = 0.5
    targets = [endpoint(misbehaving.start("hang") + "/health", f"svc-{i}", timeout) for i in range(10)]
    started = time.monotonic()
    results = checks.check_all(targets, time.monotonic() + 30)
    elapsed = time.monotonic() - started
    assert all(r.category == checks.TIMEOUT for r in results)
    assert elapsed < 3 * timeout, f"took {elapsed:.2f}s"


def test_the_overall_deadline_cuts_long_timeouts_short(misbehaving):
    targets = [endpoint(misbehaving.start("hang") + "/health", timeout=10)]
    started = time.monotonic()
    (result,) = checks.check_all(targets, time.monotonic() + 0.5)
    assert result.category == checks.TIMEOUT
    assert time.monotonic() - started < 1.5


def test_a_deadline_already_past_fails_fast(services):
    started = time.monotonic()
    (result,) = checks.check_all([endpoint(services["api-service"].health_url)], time.monotonic() - 1)
    assert (result.category, result.reason) == (checks.TIMEOUT, "not checked: no time left before the deadline")
    assert time.monotonic() - started < 1.5


def test_unreachable_host_is_a_connection_failure():
    # Port 1 on loopback: nothing listens there, so this is refused quickly.
    (result,) = checks.check_all([endpoint("http://127.0.0.1:1/health")], time.monotonic() + 5)
    assert result.category == checks.REFUSED


# --- redirects and response bodies ------------------------------------------------------


def test_a_redirect_to_the_same_host_is_followed(misbehaving):
    base = misbehaving.start("redirect", location="/moved")
    (result,) = checks.check_all([endpoint(base + "/health")], time.monotonic() + 5)
    assert (result.category, result.status) == (checks.PASSED, 200)


@pytest.mark.parametrize("offsite", ["other-host", "other-scheme"])
def test_a_redirect_to_another_host_or_scheme_is_not_followed(offsite, misbehaving):
    elsewhere_hits = []
    elsewhere = misbehaving.start("healthy", hits=elsewhere_hits)
    port = elsewhere.rsplit(":", 1)[1]
    # "localhost" is another host name than 127.0.0.1, even though it reaches the same machine.
    location = {"other-host": f"http://localhost:{port}/health", "other-scheme": f"https://127.0.0.1:{port}/health"}[offsite]
    base = misbehaving.start("redirect", location=location)
    (result,) = checks.check_all([endpoint(base + "/health")], time.monotonic() + 5)
    assert (result.category, result.status) == (checks.STATUS, 302)
    assert "another host or scheme, not followed" in result.reason
    assert elsewhere_hits == []


def test_a_body_is_measured_never_quoted(misbehaving, capsys):
    url = misbehaving.start("leaky") + "/health"
    (result,) = checks.check_all([endpoint(url)], time.monotonic() + 5)
    assert result.category == checks.BAD_BODY
    assert result.length == len(LEAKY_BODY)
    text = result.describe() + repr(result.as_log_fields())
    assert "SECRET" not in text and "hunter2" not in text and "html" not in text
    assert result.as_log_fields()["length"] == len(LEAKY_BODY)
