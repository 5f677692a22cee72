"""Lambda entry point: ``health_check.handler.handler``.

One function, three callers, told apart by the event:

- ECS lifecycle hook (``executionDetails`` + ``lifecycleStage``) -> {"hookStatus": ...}
- CodePipeline invoke action (``CodePipeline.job``) -> put_job_success/failure_result
- EventBridge schedule (``source`` aws.events, ``detail-type`` Scheduled Event) -> metrics

Nothing escapes as an exception: Lambda would retry an asynchronous invocation,
ECS would roll back without saying why, and CodePipeline would wait for a job
result until the action times out.  An unexpected error instead becomes FAILED,
a job failure or a 0 metric, and a JSON log line with the traceback.
"""

from . import canary, lifecycle_hook, logs, pipeline_job


def handler(event, context):
    request_id = getattr(context, "aws_request_id", None)
    if lifecycle_hook.is_lifecycle_hook_event(event):
        logs.info(
            "lifecycle hook invoked",
            request_id=request_id,
            execution_id=event.get("executionId"),
            lifecycle_stage=event.get("lifecycleStage"),
            resource_arn=event.get("resourceArn"),
        )
        return _guarded(lifecycle_hook.handle, _hook_crashed, event, context)
    if pipeline_job.is_pipeline_event(event):
        logs.info("pipeline job invoked", request_id=request_id, job_id=_safe_job_id(event))
        return _guarded(pipeline_job.handle, _pipeline_job_crashed, event, context)
    if canary.is_scheduled_event(event):
        logs.info("canary invoked", request_id=request_id)
        return _guarded(canary.handle, _canary_crashed, event, context)
    logs.error(
        "unrecognised event; nothing to do",
        request_id=request_id,
        event_type=type(event).__name__,
        event_keys=sorted(map(str, event)) if isinstance(event, dict) else None,
    )
    return {"error": "unrecognised event"}


def _guarded(run, on_crash, event, context):
    try:
        return run(event, context)
    except Exception as error:
        logs.exception("health check failed unexpectedly", error=repr(error))
        return on_crash(event, error)


def _hook_crashed(event, error) -> dict:
    return lifecycle_hook.failed()


def _pipeline_job_crashed(event, error) -> dict:
    job = _safe_job_id(event)
    if not job:
        logs.error("no job id in the event: CodePipeline cannot be told", error=repr(error))
        return {"jobId": None, "passed": False}
    try:
        pipeline_job.report_failure(job, f"health check could not run: {error!r}")
    except Exception as report_error:
        logs.exception("could not report the failure to CodePipeline", job_id=job, error=repr(report_error))
    return {"jobId": job, "passed": False}


def _canary_crashed(event, error) -> dict:
    try:
        services = [endpoint.service for endpoint in canary.configured_endpoints()]
        canary.publish(canary.failure_metric_data(services))
    except Exception as publish_error:
        logs.exception("could not publish the canary's failure metrics", error=repr(publish_error))
    return {"healthy": [], "failed": [logs.without_credentials(f"canary could not run: {error!r}")]}


def _safe_job_id(event):
    try:
        return pipeline_job.job_id(event)
    except Exception:
        return None
