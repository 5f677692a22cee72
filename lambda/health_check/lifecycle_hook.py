"""The ECS blue/green gate: a lifecycle hook at POST_TEST_TRAFFIC_SHIFT.

What ECS sends and expects (AWS docs, "Lambda hooks for Amazon ECS service
deployments", developerguide/lambda-lifecycle-hooks.html, checked 2025):

    event = {
        "executionId": "3a0345ba-...",
        "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
        "resourceArn": "arn:...:service-deployment/<cluster>/<service>/<id>",
        "executionDetails": {
            "serviceArn": ..., "targetServiceRevisionArn": ...,
            "testTrafficWeights": {revisionArn: percent}, "productionTrafficWeights": {...},
        },
        "hookDetails": {...},   # the service's LifecycleHooks[].HookDetails, merged with
    }                           # whatever our previous IN_PROGRESS answer returned
    answer = {"hookStatus": "SUCCEEDED" | "FAILED" | "IN_PROGRESS",
              "callBackDelay": seconds,      # IN_PROGRESS only; ECS's default is 30
              "hookDetails": {...}}          # optional; passed back on the next invocation

Anything else (an exception, no hookStatus) makes ECS roll back.

Our HookDetails: ``testListenerRuleArn`` (the test listener rule, whose forward
action points at the green target group), ``port`` (container port, optional:
the target's registered port otherwise), ``healthPath`` and ``serviceName``.

Bounding the wait: the event carries no timestamp and Lambda keeps no state, but
ECS hands back the ``hookDetails`` we return with IN_PROGRESS.  So the first
invocation records its wall-clock time there (``healthCheckFirstAttemptAt``), and
every later one measures the wait from it: once the next attempt would fall past
HOOK_MAX_WAIT_SECONDS, a not-yet-ready answer becomes FAILED.  The attempt count
travels along too (``healthCheckAttempt``), and since ECS waits ``callBackDelay``
between calls, n attempts mean at least n - 1 delays: the wait is the longer of the
two measures, so a carried time that is NaN, infinite or in the future (which
restarts the clock) cannot stretch it past the maximum.  Should that state
ever not come back, the hook's ``timeoutConfiguration`` (default 24 h, ROLLBACK)
is the last bound, so the template should set it to a few times the max wait.

A service with no tasks to check passes: ECS runs the hook when the service is
created too, and a service created with zero desired tasks (no image yet) or
scaled to zero (off hours) never registers a green target.  The hook reads the
service's ``desiredCount`` (ECS DescribeServices, on ``executionDetails.serviceArn``,
a field every lifecycle stage's payload carries per the ECS developer guide,
"Lifecycle hooks for Amazon ECS service deployments"); with any task desired, no
registered target is "not ready yet" and, past the bound, a failure as before.
"""

import ipaddress
import json
import math
import re
import time
from dataclasses import dataclass

from . import aws, checks, logs, settings

GATED_STAGE = "POST_TEST_TRAFFIC_SHIFT"
# Every stage ECS may run a blue/green lifecycle hook at: the seven that the ECS API
# reference lists under DeploymentLifecycleHook.lifecycleStages
# (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHook.html),
# and PRE_PRODUCTION_TRAFFIC_SHIFT, which the ECS API model's DeploymentLifecycleHookStage
# enum names besides them (boto3 reference, ECS > Enums > DeploymentLifecycleHookStage).
# A known stage other than the gated one passes unchecked (a rollback must never be
# blocked); a missing or unknown stage fails: the hook cannot tell what it is asked.
KNOWN_STAGES = frozenset(
    {
        "RECONCILE_SERVICE",
        "PRE_SCALE_UP",
        "POST_SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        GATED_STAGE,
        "PRE_PRODUCTION_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT",
    }
)
# Keys of the event ECS sends to a lifecycle hook; any one of them makes an event a hook's.
HOOK_EVENT_KEYS = ("executionDetails", "lifecycleStage", "hookDetails")
FIRST_ATTEMPT_KEY = "healthCheckFirstAttemptAt"
ATTEMPT_KEY = "healthCheckAttempt"
SKIPPED_TARGET_STATES = {"draining", "unhealthy.draining", "unused"}
PORT_DIGITS = re.compile(r"[0-9]{1,5}")

# Verdicts on the green tasks.
HEALTHY, WAITING, FAILED = "healthy", "waiting", "failed"


class HookConfigError(ValueError):
    """The hook's HookDetails or the load balancer wiring cannot be used."""


def is_lifecycle_hook_event(event) -> bool:
    """An event with any key of ECS's hook payload: one that lacks ``lifecycleStage`` still gets a hookStatus (FAILED)."""
    return isinstance(event, dict) and any(key in event for key in HOOK_EVENT_KEYS)


@dataclass(frozen=True)
class HookConfig:
    rule_arn: str
    port: int | None
    health_path: str
    service_name: str

    @classmethod
    def from_details(cls, details: dict) -> "HookConfig":
        rule_arn = details.get("testListenerRuleArn")
        if not isinstance(rule_arn, str) or not rule_arn:
            raise HookConfigError("hookDetails.testListenerRuleArn is missing")
        health_path = details.get("healthPath", "/health")
        if not isinstance(health_path, str) or not health_path.startswith("/"):
            raise HookConfigError("hookDetails.healthPath must be a path starting with /")
        return cls(rule_arn, _port(details.get("port")), health_path, str(details.get("serviceName") or "service"))


def _port(value) -> int | None:
    """An integer (a JSON number without a fraction), or ASCII digits: CloudFormation may hand numbers over as strings.

    Refused: booleans (``true`` is the int 1 to Python), fractions, NaN and infinity,
    and digits int() would take but a port is not written with ("８０８０", " 80").
    """
    if value is None or value == "":
        return None
    port = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        port = value
    elif isinstance(value, float) and value.is_integer():
        port = int(value)
    elif isinstance(value, str) and PORT_DIGITS.fullmatch(value):
        port = int(value)
    if port is None or not 1 <= port <= 65535:
        raise HookConfigError(f"hookDetails.port {value!r} is not a port number")
    return port


def hook_details(event: dict) -> dict:
    details = event.get("hookDetails") or {}
    if isinstance(details, str):  # HookDetails is declared as JSON; accept it still encoded
        details = json.loads(details)
    if not isinstance(details, dict):
        raise HookConfigError("hookDetails must be a JSON object")
    return details


# --- answers ------------------------------------------------------------------


def succeeded() -> dict:
    return {"hookStatus": "SUCCEEDED"}


def failed() -> dict:
    return {"hookStatus": "FAILED"}


def in_progress(details: dict, first_attempt_at: float, attempt: int) -> dict:
    carried = {**details, FIRST_ATTEMPT_KEY: first_attempt_at, ATTEMPT_KEY: attempt}
    return {
        "hookStatus": "IN_PROGRESS",
        "callBackDelay": settings.hook_callback_delay_seconds(),
        "hookDetails": carried,
    }


# --- the gate -----------------------------------------------------------------


def handle(event: dict, context) -> dict:
    """Answer one hook invocation; raises only on configuration/AWS errors (the caller fails those)."""
    stage = event.get("lifecycleStage")
    if not isinstance(stage, str) or stage not in KNOWN_STAGES:
        logs.error("missing or unknown lifecycle stage; failing", lifecycle_stage=stage)
        return failed()
    if stage != GATED_STAGE:
        # ECS re-runs some stages' hooks during a rollback; never block a rollback.
        logs.warning("not a gated lifecycle stage; letting it pass", lifecycle_stage=stage)
        return succeeded()
    details = hook_details(event)
    config = HookConfig.from_details(details)
    attempt = carried_attempts(details) + 1
    first_attempt_at = carried_first_attempt_at(details, time.time())

    if desired_task_count(event) == 0:
        logs.info("the service runs no tasks: nothing to check", service=config.service_name)
        return succeeded()
    verdict, reason = check_green_tasks(config, context)
    if verdict == WAITING:
        waited = waited_seconds(first_attempt_at, attempt)
        if waited + settings.hook_callback_delay_seconds() > settings.hook_max_wait_seconds():
            verdict, reason = FAILED, f"still not ready after {waited:.0f}s: {reason}"
    fields = {"service": config.service_name, "attempt": attempt, "verdict": verdict, "reason": reason}
    if verdict == HEALTHY:
        logs.info("green tasks healthy", **fields)
        return succeeded()
    if verdict == WAITING:
        logs.info("green tasks not ready yet; ECS will call again", **fields)
        return in_progress(details, first_attempt_at, attempt)
    logs.error("green tasks failed the health check", **fields)
    return failed()


def check_green_tasks(config: HookConfig, context) -> tuple[str, str]:
    deadline = checks.deadline_for(context, settings.deadline_margin_seconds())
    target_group = green_target_group(config.rule_arn)
    results = checks.check_all(green_endpoints(config, target_group), deadline)
    for result in results:
        logs.info("green task checked", target_group=target_group, **result.as_log_fields())
    return judge(results, target_group)


# --- the state carried between attempts ----------------------------------------


def carried_first_attempt_at(details: dict, now: float) -> float:
    """When the first attempt ran (epoch seconds), from the carried state; ``now`` on the first call.

    A value that is not a finite number (NaN, infinity, a string, a boolean) or lies
    in the future cannot bound a wait: NaN and +inf never compare as "too long", and
    a future time postpones the bound.  Such a value restarts the clock at ``now``,
    with a warning line; the attempt counter still bounds the wait (waited_seconds).
    """
    raw = details.get(FIRST_ATTEMPT_KEY)
    if raw is None:
        return now
    value = _finite_number(raw)
    if value is None or value > now:
        logs.warning("unusable first-attempt time in hookDetails; counting from now", value=repr(raw))
        return now
    return value


def carried_attempts(details: dict) -> int:
    """How many attempts ran before this one (0 on the first call, or when the count is unusable)."""
    raw = details.get(ATTEMPT_KEY, 0)
    value = _finite_number(raw)
    if value is None or value < 0 or not value.is_integer():
        logs.warning("unusable attempt count in hookDetails; counting from zero", value=repr(raw))
        return 0
    return int(value)


def _finite_number(raw) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):  # ECS passes back what we returned; accept a number that was stringified
        try:
            raw = float(raw)
        except ValueError:
            return None
    if not isinstance(raw, (int, float)):
        return None
    try:
        value = float(raw)
    except OverflowError:  # an int too large for a float
        return None
    return value if math.isfinite(value) else None


def waited_seconds(first_attempt_at: float, attempt: int) -> float:
    """How long the green tasks have been waited for: the clock, or the attempts, whichever says longer.

    ECS calls again no sooner than ``callBackDelay`` after an IN_PROGRESS answer, so
    attempt n has waited at least (n - 1) delays, whatever the carried time says.
    """
    by_attempts = (attempt - 1) * settings.hook_callback_delay_seconds()
    return max(time.time() - first_attempt_at, by_attempts)


def judge(results: list, target_group: str) -> tuple[str, str]:
    """(HEALTHY | WAITING | FAILED, reason) for the green tasks' results."""
    if not results:
        return WAITING, f"no targets registered in {target_group}"
    broken = [r for r in results if not r.passed and r.category not in checks.NOT_READY]
    if broken:
        return FAILED, "; ".join(r.describe() for r in broken)
    not_ready = [r for r in results if not r.passed]
    if not_ready:
        return WAITING, "; ".join(r.describe() for r in not_ready)
    return HEALTHY, f"{len(results)} target(s) healthy"


# --- finding the green tasks --------------------------------------------------


def desired_task_count(event: dict) -> int:
    """The service's desired task count, from ECS (0 while created without an image, or scaled to zero)."""
    service_arn = (event.get("executionDetails") or {}).get("serviceArn")
    # arn:<partition>:ecs:<region>:<account>:service/<cluster>/<service>
    resource = service_arn.split(":", 5)[-1] if isinstance(service_arn, str) else ""
    kind, _, cluster_and_service = resource.partition("/")
    cluster, _, name = cluster_and_service.partition("/")
    if kind != "service" or not cluster or not name:
        raise HookConfigError(f"executionDetails.serviceArn {service_arn!r} is not an ECS service ARN with a cluster")
    described = aws.client("ecs").describe_services(cluster=cluster, services=[service_arn])
    found = described.get("services") or []
    if not found:
        raise HookConfigError(f"ECS does not know the service {service_arn}")
    return int(found[0].get("desiredCount", 0))


def green_target_group(rule_arn: str) -> str:
    """The target group the test listener rule forwards to (green, during a deployment)."""
    rules = aws.client("elbv2").describe_rules(RuleArns=[rule_arn])["Rules"]
    forwards = [a for rule in rules for a in rule.get("Actions", []) if a.get("Type") == "forward"]
    if not forwards:
        raise HookConfigError(f"listener rule {rule_arn} has no forward action")
    return _forwarded_target_group(forwards[0], rule_arn)


def _forwarded_target_group(action: dict, rule_arn: str) -> str:
    groups = action.get("ForwardConfig", {}).get("TargetGroups", [])
    if not groups:
        return action["TargetGroupArn"]
    if len(groups) == 1:
        return groups[0]["TargetGroupArn"]
    weighted = [g["TargetGroupArn"] for g in groups if g.get("Weight", 1) > 0]
    if len(weighted) != 1:
        raise HookConfigError(
            f"listener rule {rule_arn} forwards to {len(weighted)} target groups with weight > 0; cannot tell which one is green"
        )
    return weighted[0]


def green_endpoints(config: HookConfig, target_group: str) -> list:
    described = aws.client("elbv2").describe_target_health(TargetGroupArn=target_group)
    endpoints = []
    for description in described["TargetHealthDescriptions"]:
        state = description.get("TargetHealth", {}).get("State")
        if state in SKIPPED_TARGET_STATES:  # leaving (draining) or not in service here (unused)
            continue
        endpoints.append(_target_endpoint(config, description["Target"]))
    return endpoints


def _target_endpoint(config: HookConfig, target: dict) -> checks.Endpoint:
    try:
        address = ipaddress.ip_address(target["Id"])
    except ValueError:
        raise HookConfigError(f"target {target['Id']} is not an IP target (Fargate tasks register by IP)") from None
    port = config.port or target.get("Port")
    if not port:
        raise HookConfigError(f"no port for target {target['Id']}: set hookDetails.port")
    host = f"[{address}]" if address.version == 6 else str(address)
    url = f"http://{host}:{port}{config.health_path}"
    return checks.Endpoint(service=config.service_name, url=url, timeout=settings.check_timeout_seconds())
