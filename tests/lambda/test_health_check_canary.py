"""Scheduled canary, against the real services; CloudWatch stubbed."""

import json

import pytest
from botocore.stub import ANY
from health_check.handler import handler

SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2025-10-08T16:53:06Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/canary"],
    "detail": {},
}


def configure(monkeypatch, endpoints: dict) -> None:
    monkeypatch.setenv("CANARY_ENDPOINTS", json.dumps({"endpoints": [{"service": s, "url": u} for s, u in endpoints.items()]}))


def success(service, value):
    return {"MetricName": "HealthCheckSuccess", "Dimensions": [{"Name": "Service", "Value": service}], "Value": value, "Unit": "Count"}


def latency(service):
    return {"MetricName": "HealthCheckLatency", "Dimensions": [{"Name": "Service", "Value": service}], "Value": ANY, "Unit": "Milliseconds"}


def test_healthy_services_publish_success_and_latency(services, stub_aws, context, monkeypatch):
    configure(monkeypatch, {name: service.health_url for name, service in services.items()})
    monkeypatch.setenv("METRICS_NAMESPACE", "Shop/Staging/HealthCheck")
    cloudwatch = stub_aws("cloudwatch")
    expected = [metric for name in services for metric in (success(name, 1.0), latency(name))]
    cloudwatch.expect("put_metric_data", {}, {"Namespace": "Shop/Staging/HealthCheck", "MetricData": expected})
    result = handler(SCHEDULED_EVENT, context)
    assert result == {"healthy": list(services), "failed": []}
    latencies = [m["Value"] for m in cloudwatch.calls[0][1]["MetricData"] if m["MetricName"] == "HealthCheckLatency"]
    assert all(0 < value < 500 for value in latencies)


def test_a_stopped_service_publishes_zero_without_latency(services, stopped_service, stub_aws, context, monkeypatch):
    configure(monkeypatch, {"api-service": services["api-service"].health_url, "notification-service": stopped_service.health_url})
    cloudwatch = stub_aws("cloudwatch")
    cloudwatch.expect(
        "put_metric_data",
        {},
        {
            "Namespace": "HealthCheck",
            "MetricData": [success("api-service", 1.0), latency("api-service"), success("notification-service", 0.0)],
        },
    )
    result = handler(SCHEDULED_EVENT, context)
    assert result["failed"] == [f"notification-service {stopped_service.health_url}: connection refused"]


@pytest.mark.parametrize("behaviour", ["error", "hang", "not_json", "degraded"])
def test_misbehaving_endpoints_publish_zero(behaviour, misbehaving, stub_aws, context, monkeypatch):
    configure(monkeypatch, {"api-service": misbehaving.start(behaviour) + "/api/health"})
    stub_aws("cloudwatch").expect("put_metric_data", {}, {"Namespace": "HealthCheck", "MetricData": [success("api-service", 0.0)]})
    assert handler(SCHEDULED_EVENT, context)["healthy"] == []


def test_missing_configuration_publishes_nothing_and_does_not_raise(stub_aws, context):
    stub_aws("cloudwatch")  # no call expected
    result = handler(SCHEDULED_EVENT, context)
    assert result["failed"] == ["canary could not run: ValueError('CANARY_ENDPOINTS is not set')"]


def test_cloudwatch_failure_is_retried_as_zeros_then_logged(services, stub_aws, context, monkeypatch):
    configure(monkeypatch, {"api-service": services["api-service"].health_url})
    cloudwatch = stub_aws("cloudwatch")
    cloudwatch.expect_error("put_metric_data", "InternalServiceError")
    cloudwatch.expect("put_metric_data", {}, {"Namespace": "HealthCheck", "MetricData": [success("api-service", 0.0)]})
    result = handler(SCHEDULED_EVENT, context)
    assert result["healthy"] == [] and "InternalServiceError" in result["failed"][0]


def test_credentials_in_an_endpoint_url_stay_out_of_the_summary_and_logs(stopped_service, stub_aws, context, monkeypatch, logged):
    scheme, rest = stopped_service.health_url.split("://", 1)
    configure(monkeypatch, {"notification-service": f"{scheme}://canary:hunter2@{rest}"})
    stub_aws("cloudwatch").expect("put_metric_data", {}, {"Namespace": "HealthCheck", "MetricData": [success("notification-service", 0.0)]})
    result = handler(SCHEDULED_EVENT, context)
    assert result["failed"] == [f"notification-service {stopped_service.health_url}: connection refused"]
    assert "hunter2" not in json.dumps(result) + json.dumps(logged())
