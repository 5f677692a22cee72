"""Scheduled canary (EventBridge rule): check the public URLs, publish metrics.

Endpoints come from CANARY_ENDPOINTS (``{"endpoints": [...]}``, as in the
pipeline action).  Per service it publishes, with dimension ``Service``:

- ``HealthCheckSuccess``: 1 or 0 (an alarm on it should treat missing data as
  breaching, so a canary that stops running is noticed too);
- ``HealthCheckLatency``: milliseconds, for passed checks only, so that fast
  refusals and timeouts do not distort the latency of real answers.
"""

from . import aws, checks, logs, settings

SUCCESS_METRIC = "HealthCheckSuccess"
LATENCY_METRIC = "HealthCheckLatency"
METRICS_PER_CALL = 1000  # PutMetricData's limit on MetricData items


def is_scheduled_event(event) -> bool:
    return isinstance(event, dict) and event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event"


def configured_endpoints() -> list:
    raw = settings.canary_endpoints_json()
    if not raw:
        raise ValueError("CANARY_ENDPOINTS is not set")
    return checks.parse_endpoints(raw, settings.check_timeout_seconds())


def handle(event: dict, context) -> dict:
    endpoints = configured_endpoints()
    deadline = checks.deadline_for(context, settings.deadline_margin_seconds())
    results = checks.check_all(endpoints, deadline)
    for result in results:
        log = logs.info if result.passed else logs.error
        log("canary check", **result.as_log_fields())
    publish(metric_data(results))
    return summary(results)


def summary(results: list) -> dict:
    return {
        "healthy": [r.endpoint.service for r in results if r.passed],
        "failed": [r.describe() for r in results if not r.passed],
    }


def metric_data(results: list) -> list:
    data = []
    for result in results:
        dimensions = [{"Name": "Service", "Value": result.endpoint.service}]
        data.append({"MetricName": SUCCESS_METRIC, "Dimensions": dimensions, "Value": 1.0 if result.passed else 0.0, "Unit": "Count"})
        if result.passed:
            data.append(
                {"MetricName": LATENCY_METRIC, "Dimensions": dimensions, "Value": round(result.latency_ms, 1), "Unit": "Milliseconds"}
            )
    return data


def failure_metric_data(services: list) -> list:
    """Success = 0 for every service, when the canary itself broke."""
    return [
        {"MetricName": SUCCESS_METRIC, "Dimensions": [{"Name": "Service", "Value": s}], "Value": 0.0, "Unit": "Count"} for s in services
    ]


def publish(data: list) -> None:
    namespace = settings.metrics_namespace()
    for start in range(0, len(data), METRICS_PER_CALL):
        aws.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=data[start : start + METRICS_PER_CALL])
    logs.info("metrics published", namespace=namespace, count=len(data))
