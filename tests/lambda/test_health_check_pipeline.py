"""CodePipeline invoke action, against the real services; CodePipeline itself stubbed."""

import json
import time

from botocore.stub import ANY
from health_check import pipeline_job
from health_check.handler import handler
from local_servers import LEAKY_BODY

JOB_ID = "11111111-2222-3333-4444-555555555555"


def pipeline_event(user_parameters) -> dict:
    if not isinstance(user_parameters, str):
        user_parameters = json.dumps(user_parameters)
    return {
        "CodePipeline.job": {
            "id": JOB_ID,
            "accountId": "123456789012",
            "data": {
                "actionConfiguration": {"configuration": {"FunctionName": "health-check", "UserParameters": user_parameters}},
                "inputArtifacts": [],
                "outputArtifacts": [],
            },
        }
    }


def endpoints_of(services, **overrides) -> dict:
    urls = {name: service.health_url for name, service in services.items()}
    urls.update(overrides)
    return {"endpoints": [{"service": name, "url": url} for name, url in urls.items()]}


def test_all_healthy_reports_success(services, stub_aws, context):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_success_result", {}, {"jobId": JOB_ID, "executionDetails": {"summary": "3 of 3 endpoints healthy"}})
    assert handler(pipeline_event(endpoints_of(services)), context) == {"jobId": JOB_ID, "passed": True}


def test_a_stopped_service_fails_the_job_by_name(services, stopped_service, stub_aws, context):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_failure_result", {}, {"jobId": JOB_ID, "failureDetails": ANY})
    event = pipeline_event(endpoints_of(services, **{"notification-service": stopped_service.health_url}))
    assert handler(event, context) == {"jobId": JOB_ID, "passed": False}
    (_, params) = codepipeline.calls[0]
    assert params["failureDetails"] == {
        "type": "JobFailed",
        "message": f"1 of 3 endpoints failed:\nnotification-service {stopped_service.health_url}: connection refused",
    }


def test_every_kind_of_failure_is_named(services, misbehaving, stub_aws, context):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_failure_result", {}, {"jobId": JOB_ID, "failureDetails": ANY})
    broken = {
        "api-service": misbehaving.start("error") + "/api/health",
        "auth-service": misbehaving.start("hang") + "/auth/health",
        "notification-service": misbehaving.start("not_json") + "/notification/health",
    }
    handler(pipeline_event(endpoints_of(services, **broken)), context)
    message = codepipeline.calls[0][1]["failureDetails"]["message"].splitlines()
    assert message[0] == "3 of 3 endpoints failed:"
    assert message[1] == f"api-service {broken['api-service']}: status 500"
    assert message[2] == f"auth-service {broken['auth-service']}: timeout after 0.5s"
    assert message[3] == f"notification-service {broken['notification-service']}: bad body (21 bytes): not JSON"


def test_bad_user_parameters_are_a_configuration_error(stub_aws, context):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_failure_result", {}, {"jobId": JOB_ID, "failureDetails": ANY})
    assert handler(pipeline_event("{not json"), context)["passed"] is False
    details = codepipeline.calls[0][1]["failureDetails"]
    assert details["type"] == "ConfigurationError"
    assert details["message"].startswith("UserParameters unusable:")


def test_missing_user_parameters_are_a_configuration_error(stub_aws, context):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_failure_result", {}, {"jobId": JOB_ID, "failureDetails": ANY})
    event = pipeline_event("x")
    del event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    handler(event, context)
    assert codepipeline.calls[0][1]["failureDetails"]["type"] == "ConfigurationError"


def test_without_user_parameters_the_canarys_own_endpoints_are_checked(services, stub_aws, context, monkeypatch):
    monkeypatch.setenv("CANARY_ENDPOINTS", json.dumps(endpoints_of(services)))
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_success_result", {}, {"jobId": JOB_ID, "executionDetails": {"summary": "3 of 3 endpoints healthy"}})
    event = pipeline_event("x")
    del event["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"]
    assert handler(event, context) == {"jobId": JOB_ID, "passed": True}


def test_a_long_failure_message_fits_the_api_limit(misbehaving, stub_aws, context):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_failure_result", {}, {"jobId": JOB_ID, "failureDetails": ANY})
    url = misbehaving.start("error") + "/" + "x" * 400
    endpoints = {"endpoints": [{"service": f"service-{i}", "url": url} for i in range(20)]}
    handler(pipeline_event(endpoints), context)
    message = codepipeline.calls[0][1]["failureDetails"]["message"]
    assert len(message) == pipeline_job.FAILURE_MESSAGE_LIMIT
    assert message.endswith("(truncated)")


def test_ten_hanging_endpoints_finish_in_about_one_timeout(misbehaving, stub_aws, context):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_failure_result", {}, {"jobId": JOB_ID, "failureDetails": ANY})
    endpoints = {"endpoints": [{"service": f"s{i}", "url": misbehaving.start("hang") + "/health"} for i in range(10)]}
    started = time.monotonic()
    handler(pipeline_event(endpoints), context)
    elapsed = time.monotonic() - started
    assert elapsed < 3 * 0.5, f"took {elapsed:.2f}s"
    assert codepipeline.calls[0][1]["failureDetails"]["message"].count("timeout after 0.5s") == 10


def test_a_failing_report_does_not_escape(services, stub_aws, context, logged):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect_error("put_job_success_result", "InvalidJobStateException")
    codepipeline.expect_error("put_job_failure_result", "InvalidJobStateException")
    assert handler(pipeline_event(endpoints_of(services)), context) == {"jobId": JOB_ID, "passed": False}
    errors = [line for line in logged() if line["level"] == "ERROR"]
    assert errors[0]["message"] == "health check failed unexpectedly"
    assert "InvalidJobStateException" in errors[0]["exception"]
    assert errors[-1]["message"] == "could not report the failure to CodePipeline"


def test_response_bodies_reach_neither_the_pipeline_nor_the_logs(misbehaving, stub_aws, context, logged):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_failure_result", {}, {"jobId": JOB_ID, "failureDetails": ANY})
    url = misbehaving.start("leaky") + "/api/health"
    handler(pipeline_event({"endpoints": [{"service": "api-service", "url": url}]}), context)
    message = codepipeline.calls[0][1]["failureDetails"]["message"]
    assert f"bad body ({len(LEAKY_BODY)} bytes): not JSON" in message
    everything = message + json.dumps(logged())
    assert "SECRET" not in everything and "hunter2" not in everything


# --- credentials in a configured URL: used for the check, never logged or reported ----------

SECRET = "s3cr3t-P@ss"  # a raw "@" in the password too


def with_credentials(url: str, user: str = "monitor", password: str = SECRET) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"


def test_credentials_in_a_url_reach_neither_the_logs_nor_the_pipeline(services, stopped_service, stub_aws, context, logged):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_failure_result", {}, {"jobId": JOB_ID, "failureDetails": ANY})
    endpoints = {
        "endpoints": [
            {"service": "api-service", "url": with_credentials(services["api-service"].health_url)},
            {"service": "notification-service", "url": with_credentials(stopped_service.health_url)},
        ]
    }
    assert handler(pipeline_event(endpoints), context) == {"jobId": JOB_ID, "passed": False}
    message = codepipeline.calls[0][1]["failureDetails"]["message"]
    # The failure names the bare URL; the healthy service passed with its credentials taken out of the URL.
    assert message == f"1 of 2 endpoints failed:\nnotification-service {stopped_service.health_url}: connection refused"
    lines = logged()
    checked = {line["service"]: line for line in lines if line["message"] == "endpoint checked"}
    assert checked["api-service"]["url"] == services["api-service"].health_url and checked["api-service"]["passed"] is True
    everything = message + json.dumps(lines)
    assert "monitor" not in everything and "s3cr3t" not in everything


def test_credentials_in_a_url_are_sent_as_basic_authentication(misbehaving, stub_aws, context):
    import base64

    headers = []
    url = misbehaving.start("healthy", headers=headers) + "/api/health"
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_success_result", {}, {"jobId": JOB_ID, "executionDetails": {"summary": "1 of 1 endpoints healthy"}})
    encoded = with_credentials(url, user="mon%3Aitor", password="p%40ss")  # percent-encoded ":" and "@"
    assert handler(pipeline_event({"endpoints": [{"service": "api-service", "url": encoded}]}), context)["passed"] is True
    (seen,) = headers
    assert seen["Authorization"] == "Basic " + base64.b64encode(b"mon:itor:p@ss").decode()
    assert seen["Host"] == url.split("//", 1)[1].split("/", 1)[0]  # the host, without the credentials


def test_credentials_in_an_error_reported_to_the_pipeline_are_stripped(stub_aws, context, monkeypatch, logged):
    def explode(event):
        raise RuntimeError(f"cannot reach {with_credentials('https://shop.example.com/health')}")

    monkeypatch.setattr(pipeline_job, "job_endpoints", explode)
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_failure_result", {}, {"jobId": JOB_ID, "failureDetails": ANY})
    handler(pipeline_event({"endpoints": []}), context)
    message = codepipeline.calls[0][1]["failureDetails"]["message"]
    assert "cannot reach https://shop.example.com/health" in message
    everything = message + json.dumps(logged())
    assert "s3cr3t" not in everything and "monitor" not in everything
