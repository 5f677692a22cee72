"""CodePipeline invoke action: the post-deploy smoke test.

The action's UserParameters is a JSON string of the same shape the canary reads:

    {"endpoints": [{"service": "api-service", "url": "https://shop.example.com/api/health",
                    "timeoutSeconds": 5}]}

The job is always answered: put_job_success_result when every endpoint is
healthy, put_job_failure_result otherwise (JobFailed for failed checks,
ConfigurationError for unusable UserParameters).  An unanswered job would hang
the pipeline until the action's own timeout.
"""

from . import aws, canary, checks, logs, settings

JOB_KEY = "CodePipeline.job"
FAILURE_MESSAGE_LIMIT = 5000  # PutJobFailureResult failureDetails.message
SUMMARY_LIMIT = 2048  # PutJobSuccessResult executionDetails.summary


def is_pipeline_event(event) -> bool:
    return isinstance(event, dict) and JOB_KEY in event


def job_id(event: dict) -> str:
    return event[JOB_KEY]["id"]


def user_parameters(event: dict):
    return event[JOB_KEY]["data"]["actionConfiguration"]["configuration"]["UserParameters"]


def job_endpoints(event: dict) -> list:
    """The action's UserParameters or, when it has none (any number of services), the canary's own CANARY_ENDPOINTS."""
    if "UserParameters" not in event[JOB_KEY]["data"]["actionConfiguration"]["configuration"]:
        return canary.configured_endpoints()
    return checks.parse_endpoints(user_parameters(event), settings.check_timeout_seconds())


def handle(event: dict, context) -> dict:
    """Run the smoke test and report it to CodePipeline; raises only if reporting fails."""
    job = job_id(event)
    try:
        endpoints = job_endpoints(event)
    except (KeyError, TypeError, ValueError) as error:
        report_failure(job, f"UserParameters unusable: {error}", "ConfigurationError")
        return {"jobId": job, "passed": False}
    deadline = checks.deadline_for(context, settings.deadline_margin_seconds())
    results = checks.check_all(endpoints, deadline)
    for result in results:
        logs.info("endpoint checked", job_id=job, **result.as_log_fields())
    failures = [result for result in results if not result.passed]
    if failures:
        report_failure(job, failure_message(failures, len(results)), "JobFailed")
    else:
        report_success(job, f"{len(results)} of {len(results)} endpoints healthy")
    return {"jobId": job, "passed": not failures}


def failure_message(failures: list, total: int) -> str:
    lines = [f"{len(failures)} of {total} endpoints failed:"] + [f.describe() for f in failures]
    return truncate("\n".join(lines), FAILURE_MESSAGE_LIMIT)


def truncate(text: str, limit: int) -> str:
    """CodePipeline's summary and message fields have their own limits; the marker says the text was cut."""
    return logs.bounded(text, limit, marker=" …(truncated)")


def report_success(job: str, summary: str) -> None:
    summary = logs.without_credentials(summary)
    aws.client("codepipeline").put_job_success_result(jobId=job, executionDetails={"summary": truncate(summary, SUMMARY_LIMIT)})
    logs.info("pipeline job succeeded", job_id=job, summary=summary)


def report_failure(job: str, message: str, failure_type: str = "JobFailed") -> None:
    # The message may quote an error about a URL: no credentials reach CodePipeline's console.
    message = logs.without_credentials(message)
    aws.client("codepipeline").put_job_failure_result(
        jobId=job, failureDetails={"type": failure_type, "message": truncate(message, FAILURE_MESSAGE_LIMIT)}
    )
    logs.error("pipeline job failed", job_id=job, failure_type=failure_type, reason=message)
