"""ECS lifecycle hook (POST_TEST_TRAFFIC_SHIFT), against real services; ELB stubbed.

The stubbed targets register 127.0.0.1 with a running service's port, as a
Fargate task registers its private IP and container port.
"""

import json
import time

import pytest
from health_check import lifecycle_hook
from health_check.handler import handler

RULE_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
BLUE_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-api-blue/73e2d6bc24d8a067"
GREEN_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-api-green/2453ed029918f21f"
SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/shop-staging/api-service"
GREEN_REVISION = "arn:aws:ecs:us-east-1:123456789012:service-revision/shop-staging/api-service/9313423515462893900"
BLUE_REVISION = "arn:aws:ecs:us-east-1:123456789012:service-revision/shop-staging/api-service/1920498462936580504"


def hook_event(port=None, stage="POST_TEST_TRAFFIC_SHIFT", **details) -> dict:
    hook_details = {"testListenerRuleArn": RULE_ARN, "healthPath": "/api/health", "serviceName": "api-service"}
    if port is not None:
        hook_details["port"] = port
    hook_details.update(details)
    return {
        "executionId": "3a0345ba-b029-404b-890d-7da2a4b266aa",
        "lifecycleStage": stage,
        "resourceArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/shop-staging/api-service/EZe5RNVLH6PPzHXINuP28",
        "executionDetails": {
            "serviceArn": SERVICE_ARN,
            "targetServiceRevisionArn": GREEN_REVISION,
            "testTrafficWeights": {GREEN_REVISION: 100, BLUE_REVISION: 0},
            "productionTrafficWeights": {GREEN_REVISION: 0, BLUE_REVISION: 100},
        },
        "hookDetails": hook_details,
    }


def weighted_forward(blue_weight=0, green_weight=100) -> dict:
    return {
        "Type": "forward",
        "Order": 1,
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": BLUE_TG, "Weight": blue_weight},
                {"TargetGroupArn": GREEN_TG, "Weight": green_weight},
            ]
        },
    }


def rules_response(action=None) -> dict:
    return {
        "Rules": [
            {
                "RuleArn": RULE_ARN,
                "Priority": "10",
                "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}],
                "Actions": [action or weighted_forward()],
                "IsDefault": False,
            }
        ]
    }


def targets_response(*targets) -> dict:
    """targets: (port, state) pairs, all on 127.0.0.1."""
    return {
        "TargetHealthDescriptions": [
            {"Target": {"Id": "127.0.0.1", "Port": port}, "HealthCheckPort": str(port), "TargetHealth": {"State": state}}
            for port, state in targets
        ]
    }


def expect_desired(ecs, count: int) -> None:
    """ECS answers DescribeServices for the event's service with ``count`` desired tasks."""
    response = {"services": [{"serviceArn": SERVICE_ARN, "serviceName": "api-service", "desiredCount": count}], "failures": []}
    ecs.expect("describe_services", response, {"cluster": "shop-staging", "services": [SERVICE_ARN]})


@pytest.fixture
def elbv2(stub_aws):
    stubbed = stub_aws("elbv2")
    stubbed.ecs = stub_aws("ecs")
    return stubbed


def expect_green(elbv2, *targets, target_group=GREEN_TG, action=None, desired=2):
    expect_desired(elbv2.ecs, desired)
    elbv2.expect("describe_rules", rules_response(action), {"RuleArns": [RULE_ARN]})
    elbv2.expect("describe_target_health", targets_response(*targets), {"TargetGroupArn": target_group})


# --- verdicts -----------------------------------------------------------------------


def test_healthy_green_tasks_succeed(services, elbv2, context):
    port = services["api-service"].port
    expect_green(elbv2, (port, "healthy"), (port, "initial"))
    assert handler(hook_event(), context) == {"hookStatus": "SUCCEEDED"}


def test_tasks_not_accepting_connections_yet_are_in_progress(stopped_service, elbv2, context, monkeypatch):
    monkeypatch.setenv("HOOK_CALLBACK_DELAY_SECONDS", "20")
    expect_green(elbv2, (stopped_service.port, "initial"))
    before = time.time()
    answer = handler(hook_event(), context)
    assert answer["hookStatus"] == "IN_PROGRESS"
    assert answer["callBackDelay"] == 20
    carried = answer["hookDetails"]
    assert carried["testListenerRuleArn"] == RULE_ARN  # the configuration travels along
    assert carried["healthCheckAttempt"] == 1
    assert before <= carried["healthCheckFirstAttemptAt"] <= time.time()
    json.dumps(answer)  # ECS receives it as JSON


def test_a_later_attempt_succeeds_once_the_tasks_are_up(services, stopped_service, elbv2, context):
    expect_green(elbv2, (stopped_service.port, "initial"))
    first = handler(hook_event(), context)
    expect_green(elbv2, (services["api-service"].port, "healthy"))
    second_event = hook_event()
    second_event["hookDetails"] = first["hookDetails"]  # ECS passes back what we returned
    assert handler(second_event, context) == {"hookStatus": "SUCCEEDED"}


def test_no_registered_targets_is_in_progress(elbv2, context):
    expect_green(elbv2)
    assert handler(hook_event(), context)["hookStatus"] == "IN_PROGRESS"


def test_waiting_past_the_bound_fails(stopped_service, elbv2, context, monkeypatch, logged):
    monkeypatch.setenv("HOOK_MAX_WAIT_SECONDS", "300")
    monkeypatch.setenv("HOOK_CALLBACK_DELAY_SECONDS", "15")
    expect_green(elbv2, (stopped_service.port, "initial"))
    event = hook_event(healthCheckFirstAttemptAt=time.time() - 290, healthCheckAttempt=19)
    assert handler(event, context) == {"hookStatus": "FAILED"}
    (verdict,) = [line for line in logged() if line["message"] == "green tasks failed the health check"]
    assert verdict["attempt"] == 20
    assert verdict["reason"].startswith("still not ready after 290s: api-service http://127.0.0.1:")
    assert verdict["reason"].endswith("connection refused")


def test_no_targets_past_the_bound_fails(elbv2, context, monkeypatch):
    monkeypatch.setenv("HOOK_MAX_WAIT_SECONDS", "60")
    expect_green(elbv2)
    assert handler(hook_event(healthCheckFirstAttemptAt=time.time() - 61), context) == {"hookStatus": "FAILED"}


def test_within_the_bound_keeps_waiting(stopped_service, elbv2, context, monkeypatch):
    monkeypatch.setenv("HOOK_MAX_WAIT_SECONDS", "300")
    expect_green(elbv2, (stopped_service.port, "initial"))
    answer = handler(hook_event(healthCheckFirstAttemptAt=time.time() - 100, healthCheckAttempt=7), context)
    assert answer["hookStatus"] == "IN_PROGRESS"
    assert answer["hookDetails"]["healthCheckAttempt"] == 8


@pytest.mark.parametrize("behaviour", ["error", "not_json", "degraded"])
def test_a_task_answering_wrongly_fails_at_once(behaviour, misbehaving, elbv2, context):
    port = int(misbehaving.start(behaviour).rsplit(":", 1)[1])
    expect_green(elbv2, (port, "healthy"))
    assert handler(hook_event(), context) == {"hookStatus": "FAILED"}


def test_one_bad_task_among_good_ones_fails(services, misbehaving, elbv2, context):
    bad_port = int(misbehaving.start("error").rsplit(":", 1)[1])
    expect_green(elbv2, (services["api-service"].port, "healthy"), (bad_port, "healthy"))
    assert handler(hook_event(), context) == {"hookStatus": "FAILED"}


def test_the_wrong_service_behind_the_rule_fails(services, elbv2, context):
    expect_green(elbv2, (services["auth-service"].port, "healthy"))
    event = hook_event(healthPath="/health")  # auth-service answers, naming itself
    assert handler(event, context) == {"hookStatus": "FAILED"}


def test_a_hanging_task_is_in_progress_within_one_timeout(misbehaving, elbv2, context):
    port = int(misbehaving.start("hang").rsplit(":", 1)[1])
    expect_green(elbv2, (port, "initial"))
    started = time.monotonic()
    assert handler(hook_event(), context)["hookStatus"] == "IN_PROGRESS"
    assert time.monotonic() - started < 1.5


def test_draining_targets_are_not_checked(services, stopped_service, elbv2, context):
    expect_green(elbv2, (services["api-service"].port, "healthy"), (stopped_service.port, "draining"))
    assert handler(hook_event(), context) == {"hookStatus": "SUCCEEDED"}


def test_hook_details_port_overrides_the_registered_port(services, elbv2, context):
    expect_green(elbv2, (1, "healthy"))  # registered port 1 would be refused
    assert handler(hook_event(port=str(services["api-service"].port)), context) == {"hookStatus": "SUCCEEDED"}


def test_hook_details_may_arrive_as_a_json_string(services, elbv2, context):
    expect_green(elbv2, (services["api-service"].port, "healthy"))
    event = hook_event()
    event["hookDetails"] = json.dumps(event["hookDetails"])
    assert handler(event, context) == {"hookStatus": "SUCCEEDED"}


# --- which target group is green --------------------------------------------------------


@pytest.mark.parametrize(
    "action, green",
    [
        (weighted_forward(blue_weight=0, green_weight=100), GREEN_TG),
        (weighted_forward(blue_weight=100, green_weight=0), BLUE_TG),  # the roles alternate per deployment
        ({"Type": "forward", "TargetGroupArn": GREEN_TG}, GREEN_TG),
        ({"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": BLUE_TG}]}}, BLUE_TG),
    ],
)
def test_green_is_where_the_test_rule_forwards(action, green, services, elbv2, context):
    expect_green(elbv2, (services["api-service"].port, "healthy"), target_group=green, action=action)
    assert handler(hook_event(), context) == {"hookStatus": "SUCCEEDED"}


@pytest.mark.parametrize(
    "action",
    [weighted_forward(blue_weight=50, green_weight=50), {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
)
def test_an_unclear_test_rule_fails(action, elbv2, context):
    expect_desired(elbv2.ecs, 1)
    elbv2.expect("describe_rules", rules_response(action), {"RuleArns": [RULE_ARN]})
    assert handler(hook_event(), context) == {"hookStatus": "FAILED"}


# --- configuration and errors ------------------------------------------------------------


@pytest.mark.parametrize(
    "details",
    [
        {"testListenerRuleArn": ""},
        {"healthPath": "health"},
        {"port": "eighty"},
        {"port": 70000},
        {"port": True},
        {"port": False},
        {"port": 0},
        {"port": 8080.5},
        {"port": float("nan")},
        {"port": float("inf")},
        {"port": "８０８０"},
        {"port": " 8080"},
        {"port": "-1"},
        {"port": [8080]},
    ],
    ids=repr,
)
def test_unusable_hook_details_fail_without_calling_aws(details, stub_aws, context, logged):
    elbv2, ecs = stub_aws("elbv2"), stub_aws("ecs")  # no call expected
    assert handler(hook_event(**details), context) == {"hookStatus": "FAILED"}
    assert elbv2.calls == ecs.calls == []
    (crash,) = [line for line in logged() if line["message"] == "health check failed unexpectedly"]
    assert "HookConfigError" in crash["error"]


def test_port_true_is_not_port_1(services, stub_aws, context, logged):
    """JSON true is the int 1 to Python: it must be refused, not checked as port 1 (refused there: IN_PROGRESS)."""
    elbv2, ecs = stub_aws("elbv2"), stub_aws("ecs")
    assert handler(hook_event(port=True), context) == {"hookStatus": "FAILED"}
    assert elbv2.calls == ecs.calls == []
    (crash,) = [line for line in logged() if line["message"] == "health check failed unexpectedly"]
    assert "hookDetails.port True is not a port number" in crash["error"]


@pytest.mark.parametrize("port", [lambda p: p, lambda p: str(p), lambda p: float(p)], ids=["int", "digits", "whole-float"])
def test_a_port_as_an_integer_digits_or_a_whole_float_is_used(port, services, elbv2, context):
    expect_green(elbv2, (1, "healthy"))  # registered port 1 would be refused
    assert handler(hook_event(port=port(services["api-service"].port)), context) == {"hookStatus": "SUCCEEDED"}


def test_an_elb_error_fails_and_is_logged(elbv2, context, logged):
    expect_desired(elbv2.ecs, 1)
    elbv2.expect_error("describe_rules", "RuleNotFound", "One or more rules not found")
    assert handler(hook_event(), context) == {"hookStatus": "FAILED"}
    error = [line for line in logged() if line["level"] == "ERROR"][0]
    assert "RuleNotFound" in error["error"]


def test_instance_targets_fail(elbv2, context):
    expect_desired(elbv2.ecs, 1)
    elbv2.expect("describe_rules", rules_response(), {"RuleArns": [RULE_ARN]})
    elbv2.expect(
        "describe_target_health",
        {"TargetHealthDescriptions": [{"Target": {"Id": "i-0123456789abcdef0", "Port": 80}, "TargetHealth": {"State": "healthy"}}]},
        {"TargetGroupArn": GREEN_TG},
    )
    assert handler(hook_event(), context) == {"hookStatus": "FAILED"}


OTHER_KNOWN_STAGES = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
]


@pytest.mark.parametrize("stage", OTHER_KNOWN_STAGES)
def test_other_known_stages_pass_without_checking(stage, stub_aws, context):
    elbv2, ecs = stub_aws("elbv2"), stub_aws("ecs")  # no call expected: a rollback must never be blocked
    assert handler(hook_event(stage=stage), context) == {"hookStatus": "SUCCEEDED"}
    assert elbv2.calls == ecs.calls == []


@pytest.mark.parametrize(
    "stage",
    [None, "", "post_test_traffic_shift", "SCALE_UP", "BAKE_TIME", "SOME_FUTURE_STAGE", 42, ["POST_TEST_TRAFFIC_SHIFT"], {}],
    ids=repr,
)
def test_an_unknown_lifecycle_stage_fails(stage, stub_aws, context, logged):
    elbv2, ecs = stub_aws("elbv2"), stub_aws("ecs")  # nothing is checked for a stage the hook does not know
    assert handler(hook_event(stage=stage), context) == {"hookStatus": "FAILED"}
    assert elbv2.calls == ecs.calls == []
    (line,) = [line for line in logged() if line["level"] == "ERROR"]
    assert line["message"] == "missing or unknown lifecycle stage; failing"


@pytest.mark.parametrize("keys", [("executionDetails", "hookDetails"), ("executionDetails",), ("hookDetails",)])
def test_a_hook_event_without_a_lifecycle_stage_fails(keys, stub_aws, context):
    stub_aws("elbv2")
    stub_aws("ecs")
    event = {key: value for key, value in hook_event().items() if key in keys}
    assert handler(event, context) == {"hookStatus": "FAILED"}


def test_the_known_stages_are_those_of_the_ecs_api_model():
    """The stages the ECS API model lets a lifecycle hook run at (botocore's copy of it)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("ecs")
    assert lifecycle_hook.KNOWN_STAGES == set(model.shape_for("DeploymentLifecycleHookStage").enum)
    assert lifecycle_hook.KNOWN_STAGES == {*OTHER_KNOWN_STAGES, "POST_TEST_TRAFFIC_SHIFT"}


def test_judge_prefers_failure_over_waiting():
    from health_check.checks import CheckResult, Endpoint

    endpoint = Endpoint("api-service", "http://127.0.0.1:1/health", 1)
    results = [CheckResult(endpoint, "refused", "connection refused"), CheckResult(endpoint, "status", "status 500", 500)]
    assert lifecycle_hook.judge(results, GREEN_TG)[0] == lifecycle_hook.FAILED


# --- a service with no tasks to check -------------------------------------------------


def test_a_service_with_no_desired_tasks_passes_without_checking_targets(elbv2, context, logged):
    """Created with zero tasks (no image yet) or scaled to zero: nothing registers, nothing to wait for."""
    expect_desired(elbv2.ecs, 0)  # and no ELB call
    assert handler(hook_event(), context) == {"hookStatus": "SUCCEEDED"}
    assert any(line["message"] == "the service runs no tasks: nothing to check" for line in logged())


def test_a_service_that_wants_tasks_still_waits_for_them(elbv2, context):
    expect_green(elbv2, desired=1)  # nothing registered yet
    assert handler(hook_event(), context)["hookStatus"] == "IN_PROGRESS"


def test_unhealthy_green_tasks_of_a_running_service_still_fail(misbehaving, elbv2, context):
    port = int(misbehaving.start("degraded").rsplit(":", 1)[1])
    expect_green(elbv2, (port, "unhealthy"), desired=3)
    assert handler(hook_event(), context) == {"hookStatus": "FAILED"}


@pytest.mark.parametrize("service_arn", [None, "not-an-arn", "arn:aws:ecs:us-east-1:123456789012:service/api-service"])
def test_an_event_without_a_usable_service_arn_fails(service_arn, stub_aws, context):
    stub_aws("ecs")  # no call expected
    event = hook_event()
    event["executionDetails"]["serviceArn"] = service_arn
    assert handler(event, context) == {"hookStatus": "FAILED"}


# --- the wait stays bounded, whatever the carried state or the settings say ----------


def call_as_ecs_does(elbv2, context, port: int, details: dict, calls: int) -> list:
    """Invoke the hook up to ``calls`` times, passing back its hookDetails as ECS does; the answers."""
    answers = []
    event = hook_event(**details)
    for _ in range(calls):
        expect_green(elbv2, (port, "initial"))
        answer = handler(event, context)
        answers.append(answer)
        if answer["hookStatus"] != "IN_PROGRESS":
            break
        json.dumps(answer, allow_nan=False)  # ECS gets it as JSON: no NaN, no Infinity
        event = hook_event()
        event["hookDetails"] = answer["hookDetails"]
    return answers


@pytest.mark.parametrize(
    "first_attempt_at",
    [float("nan"), float("inf"), float("-inf"), "nan", "then", True, 10**400, "future"],
    ids=["nan", "inf", "-inf", "nan-string", "text", "bool", "huge-int", "future"],
)
def test_an_unusable_first_attempt_time_still_gives_up_at_the_maximum(first_attempt_at, stopped_service, elbv2, context, monkeypatch):
    """60s at 15s a call: attempts 1-4 wait (0, 15, 30, 45s waited), the 5th would end past 60s and fails."""
    monkeypatch.setenv("HOOK_MAX_WAIT_SECONDS", "60")
    monkeypatch.setenv("HOOK_CALLBACK_DELAY_SECONDS", "15")
    if first_attempt_at == "future":
        first_attempt_at = time.time() + 86_400
    before = time.time()
    answers = call_as_ecs_does(elbv2, context, stopped_service.port, {"healthCheckFirstAttemptAt": first_attempt_at}, calls=6)
    assert [a["hookStatus"] for a in answers] == ["IN_PROGRESS"] * 4 + ["FAILED"]
    restarted = answers[0]["hookDetails"]["healthCheckFirstAttemptAt"]
    assert before <= restarted <= time.time()  # the clock restarted at the first call


def test_a_future_first_attempt_time_at_the_attempt_bound_fails(stopped_service, elbv2, context, monkeypatch, logged):
    monkeypatch.setenv("HOOK_MAX_WAIT_SECONDS", "300")
    monkeypatch.setenv("HOOK_CALLBACK_DELAY_SECONDS", "15")
    expect_green(elbv2, (stopped_service.port, "initial"))
    event = hook_event(healthCheckFirstAttemptAt=time.time() + 10**9, healthCheckAttempt=20)
    assert handler(event, context) == {"hookStatus": "FAILED"}
    lines = logged()
    (verdict,) = [line for line in lines if line["message"] == "green tasks failed the health check"]
    assert verdict["reason"].startswith("still not ready after 300s: ")  # 20 delays of 15s, and 15s more would pass 300s
    assert any(line["message"] == "unusable first-attempt time in hookDetails; counting from now" for line in lines)


@pytest.mark.parametrize("attempt", ["x", float("nan"), float("inf"), -3, 2.5, True, None, [1]], ids=repr)
def test_an_unusable_attempt_count_counts_from_zero(attempt, stopped_service, elbv2, context):
    expect_green(elbv2, (stopped_service.port, "initial"))
    answer = handler(hook_event(healthCheckFirstAttemptAt=time.time() - 10, healthCheckAttempt=attempt), context)
    assert answer["hookStatus"] == "IN_PROGRESS"
    assert answer["hookDetails"]["healthCheckAttempt"] == 1


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_a_non_finite_max_wait_falls_back_to_the_default(value, stopped_service, elbv2, context, monkeypatch, logged):
    monkeypatch.setenv("HOOK_MAX_WAIT_SECONDS", value)
    expect_green(elbv2, (stopped_service.port, "initial"))
    assert handler(hook_event(healthCheckFirstAttemptAt=time.time() - 100), context)["hookStatus"] == "IN_PROGRESS"
    expect_green(elbv2, (stopped_service.port, "initial"))  # the default, 300s, is past
    assert handler(hook_event(healthCheckFirstAttemptAt=time.time() - 290), context) == {"hookStatus": "FAILED"}
    warnings = [line for line in logged() if line["message"] == "setting is not a finite number; using its default"]
    assert warnings and {(w["variable"], w["default"]) for w in warnings} == {("HOOK_MAX_WAIT_SECONDS", 300.0)}


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_non_finite_callback_delay_falls_back_to_the_default(value, stopped_service, elbv2, context, monkeypatch):
    monkeypatch.setenv("HOOK_CALLBACK_DELAY_SECONDS", value)
    expect_green(elbv2, (stopped_service.port, "initial"))
    answer = handler(hook_event(), context)
    assert (answer["hookStatus"], answer["callBackDelay"]) == ("IN_PROGRESS", 15)


@pytest.mark.parametrize(
    "name, read, default",
    [
        ("CHECK_TIMEOUT_SECONDS", "check_timeout_seconds", 5.0),
        ("DEADLINE_MARGIN_MS", "deadline_margin_seconds", 3.0),
        ("HOOK_CALLBACK_DELAY_SECONDS", "hook_callback_delay_seconds", 15),
        ("HOOK_MAX_WAIT_SECONDS", "hook_max_wait_seconds", 300.0),
    ],
)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_every_numeric_setting_refuses_non_finite_values(name, read, default, value, monkeypatch):
    from health_check import settings

    monkeypatch.setenv(name, value)
    assert getattr(settings, read)() == default
