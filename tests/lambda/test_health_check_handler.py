"""The entry point: telling callers apart, never raising, logging JSON lines."""

import pytest
from botocore.stub import ANY
from health_check import handler as handler_module
from health_check import lifecycle_hook
from health_check.handler import handler


@pytest.mark.parametrize(
    "event",
    [
        None,
        "text",
        42,
        [],
        {},
        {"source": "aws.events"},
        {"detail-type": "Scheduled Event", "source": "aws.s3"},
        {"Records": [{"eventSource": "aws:sqs"}]},
    ],
)
def test_unrecognised_events_are_logged_not_raised(event, context, logged):
    assert handler(event, context) == {"error": "unrecognised event"}
    (line,) = logged()
    assert (line["level"], line["message"], line["request_id"]) == ("ERROR", "unrecognised event; nothing to do", "req-123")


@pytest.mark.parametrize(
    "event",
    [
        {"executionDetails": None, "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "hookDetails": ["not", "a", "dict"]},
        {"executionDetails": {}, "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "hookDetails": "{broken json"},
        {
            "executionDetails": {},
            "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
            "hookDetails": {"testListenerRuleArn": "arn", "healthCheckAttempt": "x"},
        },
    ],
)
def test_malformed_hook_events_fail_the_hook(event, stub_aws, context):
    stub_aws("elbv2")
    assert handler(event, context) == {"hookStatus": "FAILED"}


@pytest.mark.parametrize("job", [{"id": "job-1"}, {"id": "job-1", "data": []}, {"id": "job-1", "data": {"actionConfiguration": 5}}])
def test_malformed_pipeline_jobs_are_reported_as_configuration_errors(job, stub_aws, context):
    codepipeline = stub_aws("codepipeline")
    codepipeline.expect("put_job_failure_result", {}, {"jobId": "job-1", "failureDetails": ANY})
    assert handler({"CodePipeline.job": job}, context) == {"jobId": "job-1", "passed": False}
    assert codepipeline.calls[0][1]["failureDetails"]["type"] == "ConfigurationError"


@pytest.mark.parametrize("job", [None, "job-1", {"no-id": True}])
def test_a_pipeline_event_without_a_job_id_is_logged_not_raised(job, stub_aws, context, logged):
    stub_aws("codepipeline")  # no call expected: there is no job to answer
    assert handler({"CodePipeline.job": job}, context) == {"jobId": None, "passed": False}
    assert logged()[-1]["message"] == "no job id in the event: CodePipeline cannot be told"


def test_an_unexpected_crash_becomes_failed_with_a_traceback(monkeypatch, context, logged):
    def explode(event, context):
        raise RuntimeError("surprise")

    monkeypatch.setattr(lifecycle_hook, "handle", explode)
    event = {"executionDetails": {}, "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "executionId": "e-1"}
    assert handler(event, context) == {"hookStatus": "FAILED"}
    lines = logged()
    assert lines[0]["message"] == "lifecycle hook invoked" and lines[0]["execution_id"] == "e-1"
    assert lines[1]["level"] == "ERROR" and "RuntimeError: surprise" in lines[1]["exception"]
    assert {"time", "level", "message"} <= set(lines[1])


def test_works_without_a_context(stub_aws):
    stub_aws("elbv2")
    assert handler({"executionDetails": {}, "lifecycleStage": "PRE_SCALE_UP"}, None) == {"hookStatus": "SUCCEEDED"}


def test_the_module_exposes_the_lambda_entry_point():
    assert callable(handler_module.handler)
