"""The service stacks: blue/green wiring, the hook, alarms, roles, capacity."""

from __future__ import annotations

import json

import pytest

from templates import config as config_module
from templates import names
from templates.render import render
from templates.stacks import service
from templates.stacks.service import interface
from tests.conftest import SAMPLE, TARGETS, load_target, make_services, render_target
from tests.templates.helpers import props, refs, resources_of_type, service_template


def render_services(cfg) -> dict[str, dict]:
    return {s.name: service_template(cfg, s) for s in cfg.project.services}


@pytest.fixture(scope="module", params=TARGETS)
def rendered(request):
    cfg = config_module.load(SAMPLE, request.param)
    return cfg, render_services(cfg)


def ecs_service(template: dict) -> dict:
    return props(template, "Service")


def test_each_service_uses_its_own_green_target_group_and_rules(rendered):
    _, templates = rendered
    for name, template in templates.items():
        advanced = ecs_service(template)["LoadBalancers"][0]["AdvancedConfiguration"]
        assert advanced["AlternateTargetGroupArn"] == {"Ref": "GreenTargetGroup"}, name
        assert advanced["ProductionListenerRule"] == {"Ref": "ProductionListenerRule"}, name
        assert advanced["TestListenerRule"] == {"Ref": "TestListenerRule"}, name
        assert ecs_service(template)["LoadBalancers"][0]["TargetGroupArn"] == {"Ref": "BlueTargetGroup"}, name
        assert refs(advanced["RoleArn"]) == {"BlueGreenRole"}, name
        for rule in ("ProductionListenerRule", "TestListenerRule"):
            groups = props(template, rule)["Actions"][0]["ForwardConfig"]["TargetGroups"]
            assert [(g["TargetGroupArn"]["Ref"], g["Weight"]) for g in groups] == [("BlueTargetGroup", 100), ("GreenTargetGroup", 0)]


def test_rules_route_each_service_path_with_a_unique_priority(rendered):
    cfg, templates = rendered
    priorities = {}
    for s in cfg.project.services:
        rule = props(templates[s.name], "ProductionListenerRule")
        assert rule["Conditions"][0]["PathPatternConfig"]["Values"] == [s.route_path, f"{s.route_path}/*"]
        assert rule["ListenerArn"] == {"Ref": names.PRODUCTION_LISTENER_ARN}
        assert props(templates[s.name], "TestListenerRule")["ListenerArn"] == {"Ref": names.TEST_LISTENER_ARN}
        priorities[s.name] = rule["Priority"]
    assert len(set(priorities.values())) == len(priorities)


def test_blue_green_strategy_bake_time_hook_and_circuit_breaker(rendered):
    """ECS's failure detection (circuit breaker and alarms) supports blue/green deployments: the circuit breaker
    stops a green revision that never becomes healthy, which the hook never sees."""
    cfg, templates = rendered
    for s in cfg.project.services:
        deployment = ecs_service(templates[s.name])["DeploymentConfiguration"]
        assert deployment["Strategy"] == "BLUE_GREEN"
        assert deployment["BakeTimeInMinutes"] == cfg.environment.services.bake_time_minutes
        assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
        assert deployment["Alarms"]["Rollback"] is True
        (hook,) = deployment["LifecycleHooks"]
        assert hook["LifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
        assert hook["HookTargetArn"] == {"Ref": names.HOOK_FUNCTION_ARN}
        assert hook["HookDetails"] == {
            "serviceName": s.name,
            "testListenerRuleArn": {"Ref": "TestListenerRule"},
            "port": s.container_port,
            "healthPath": s.health_check_path,
        }
        invoke = props(templates[s.name], "LifecycleHookRole")["Policies"][0]["PolicyDocument"]["Statement"]
        assert invoke == [{"Action": ["lambda:InvokeFunction"], "Effect": "Allow", "Resource": [{"Ref": names.HOOK_FUNCTION_ARN}]}]


def test_the_hook_parameter_is_wired_to_the_health_check_function():
    rendered = render_target("staging")
    resources = rendered[names.ROOT_TEMPLATE]["Resources"]
    for s in config_module.load(SAMPLE, "staging").project.services:
        passed = resources[service.stack_title(s)]["Properties"]["Parameters"]
        assert passed[names.HOOK_FUNCTION_ARN] == {"Fn::GetAtt": ["HealthCheckStack", f"Outputs.{names.HOOK_FUNCTION_ARN}"]}
        assert passed[names.IMAGE_TAG] == {"Ref": names.IMAGE_TAG}
        assert passed[service.RUNNING_PARAMETER] == {"Ref": names.service_running_parameter(s.logical_name)}
        assert {name: passed[name] for name in service.PER_SERVICE} == service.service_values(s)


def test_every_rollback_alarm_exists_in_the_same_template(rendered):
    _, templates = rendered
    for name, template in templates.items():
        alarms = ecs_service(template)["DeploymentConfiguration"]["Alarms"]
        assert alarms["Enable"] is True and alarms["Rollback"] is True
        for reference in alarms["AlarmNames"]:
            assert template["Resources"][reference["Ref"]]["Type"] == "AWS::CloudWatch::Alarm", name


def test_alarms_watch_both_target_groups(rendered):
    _, templates = rendered
    for template in templates.values():
        for title in ("Target5xxAlarm", "LatencyP99Alarm", "HealthyHostsAlarm"):
            metrics = props(template, title)["Metrics"]
            groups = [m["MetricStat"]["Metric"]["Dimensions"][1]["Value"]["Fn::GetAtt"][0] for m in metrics if "MetricStat" in m]
            assert groups == ["BlueTargetGroup", "GreenTargetGroup"]
            assert [m["Id"] for m in metrics if m.get("ReturnData")] == ["live"]


def alarm_of(make_config, alarms: dict, title: str) -> dict:
    cfg = make_config(environment={"alarms": alarms})
    return props(service_template(cfg, cfg.project.services[0]), title)


def test_changing_a_threshold_changes_exactly_that_alarm(make_config):
    before = {t: alarm_of(make_config, {}, t) for t in ("Target5xxAlarm", "LatencyP99Alarm", "HealthyHostsAlarm", "RunningTasksAlarm")}
    after = {t: alarm_of(make_config, {"target_5xx": {"threshold": 42}}, t) for t in before}
    assert after["Target5xxAlarm"]["Threshold"] == 42.0
    assert {k: v for k, v in after["Target5xxAlarm"].items() if k != "Threshold"} == {
        k: v for k, v in before["Target5xxAlarm"].items() if k != "Threshold"
    }
    assert all(after[t] == before[t] for t in before if t != "Target5xxAlarm")


def test_alarm_periods_datapoints_and_missing_data_follow_the_file(make_config):
    spec = {"threshold": 3, "period_seconds": 300, "evaluation_periods": 6, "datapoints_to_alarm": 4, "treat_missing_data": "breaching"}
    latency = alarm_of(make_config, {"latency_p99": spec}, "LatencyP99Alarm")
    assert (latency["Threshold"], latency["EvaluationPeriods"], latency["DatapointsToAlarm"], latency["TreatMissingData"]) == (
        3.0,
        6,
        4,
        "breaching",
    )
    assert {m["MetricStat"]["Period"] for m in latency["Metrics"] if "MetricStat" in m} == {300}
    assert {m["MetricStat"]["Stat"] for m in latency["Metrics"] if "MetricStat" in m} == {"p99"}
    tasks = alarm_of(make_config, {"running_tasks": dict(spec, period_seconds=120)}, "RunningTasksAlarm")
    assert (tasks["Period"], tasks["Statistic"], tasks["ComparisonOperator"]) == (120, "SampleCount", "LessThanThreshold")


def test_capacity_follows_the_file_and_the_running_parameter(make_config):
    cfg = make_config(
        environment={"services": {"scaling": {"min_tasks": 3, "max_tasks": 7, "cpu_target_percent": 45, "requests_per_target": 900}}}
    )
    template = service_template(cfg, cfg.project.services[0])
    assert ecs_service(template)["DesiredCount"] == {"Fn::If": ["KeepDesiredCount", {"Ref": "AWS::NoValue"}, {"Fn::If": ["Running", 3, 0]}]}
    target = props(template, "ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == ({"Fn::If": ["Running", 3, 0]}, {"Fn::If": ["Running", 7, 0]})
    cpu = props(template, "CpuScalingPolicy")["TargetTrackingScalingPolicyConfiguration"]
    assert cpu["TargetValue"] == 45.0
    assert cpu["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    requests = props(template, "RequestsScalingPolicy")["TargetTrackingScalingPolicyConfiguration"]
    assert requests["TargetValue"] == 900.0
    assert template["Conditions"]["Running"] == {"Fn::Equals": [{"Ref": service.RUNNING_PARAMETER}, "true"]}
    assert template["Parameters"][service.RUNNING_PARAMETER]["Default"] == "true"
    keep = {"Fn::Equals": [{"Ref": service.KEEP_DESIRED_COUNT_PARAMETER}, "true"]}
    assert template["Conditions"]["KeepDesiredCount"] == {"Fn::And": [{"Condition": "Running"}, keep]}


def test_off_hours_scale_every_service_to_zero_only_where_configured(make_config):
    hours = {"stop": "cron(0 20 ? * MON-FRI *)", "start": "cron(0 6 ? * MON-FRI *)", "timezone": "Europe/Paris"}
    cfg = make_config(environment={"services": {"scaling": {"off_hours": hours}}})
    for s in cfg.project.services:
        actions = props(service_template(cfg, s), "ScalableTarget")["ScheduledActions"]
        assert [(a["Schedule"], a["Timezone"]) for a in actions] == [(hours["stop"], "Europe/Paris"), (hours["start"], "Europe/Paris")]
        assert actions[0]["ScalableTargetAction"] == {"MinCapacity": 0, "MaxCapacity": 0}
    plain = make_config()
    assert props(service_template(plain, plain.project.services[0]), "ScalableTarget")["ScheduledActions"] == {"Ref": "AWS::NoValue"}


def test_the_task_runs_non_root_read_only_with_a_tmp_volume_health_check_logs_and_secrets(rendered):
    cfg, templates = rendered
    for s in cfg.project.services:
        task = props(templates[s.name], "TaskDefinition")
        (container,) = task["ContainerDefinitions"]
        assert (task["Cpu"], task["Memory"]) == (str(s.cpu), str(s.memory))
        assert task["RequiresCompatibilities"] == ["FARGATE"] and task["NetworkMode"] == "awsvpc"
        assert container["User"] == s.run_as_user and not container["User"].startswith("0")
        assert container["ReadonlyRootFilesystem"] is True
        assert container["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]
        assert task["Volumes"] == [{"Name": "tmp"}]
        assert container["HealthCheck"]["Command"] == list(s.container_health_command)
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
        assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "LogGroup"}
        secrets = {secret["Name"]: secret["ValueFrom"] for secret in container["Secrets"]}
        assert secrets[s.secret_variable] == {"Ref": "Secret"}
        assert "LOG_LEVEL" in secrets
        assert "Fn::Sub" in container["Image"] and names.ecr_repository_name(cfg.project.name, s.name) in container["Image"]["Fn::Sub"][0]


def test_the_secret_is_generated_and_encrypted_with_the_environment_key(rendered):
    _, templates = rendered
    for template in templates.values():
        secret = props(template, "Secret")
        assert secret["KmsKeyId"] == {"Ref": names.ENVIRONMENT_KEY_ARN}
        assert secret["GenerateSecretString"]["PasswordLength"] >= 32


def test_the_security_group_admits_only_the_load_balancer_and_the_hook_on_the_container_port(rendered):
    cfg, templates = rendered
    for s in cfg.project.services:
        ingress = props(templates[s.name], "TaskSecurityGroup")["SecurityGroupIngress"]
        assert {rule["SourceSecurityGroupId"]["Ref"] for rule in ingress} == {
            names.LOAD_BALANCER_SECURITY_GROUP_ID,
            names.HOOK_SECURITY_GROUP_ID,
        }
        assert all(rule["FromPort"] == rule["ToPort"] == s.container_port for rule in ingress)
        assert all("CidrIp" not in rule for rule in ingress)


def test_the_service_runs_in_private_subnets_without_public_ips(rendered):
    _, templates = rendered
    for template in templates.values():
        network = ecs_service(template)["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED" and network["Subnets"] == {"Ref": names.PRIVATE_SUBNET_IDS}


def statements(template: dict, role: str) -> list[dict]:
    return [st for policy in props(template, role)["Policies"] for st in policy["PolicyDocument"]["Statement"]]


def test_roles_grant_nothing_outside_the_services_own_resources(rendered):
    cfg, templates = rendered
    own_references = {
        "LogGroup",
        "Secret",
        "SettingLogLevel",
        "ProductionListenerRule",
        "TestListenerRule",
        "BlueTargetGroup",
        "GreenTargetGroup",
        names.ENVIRONMENT_KEY_ARN,
        names.HOOK_FUNCTION_ARN,
    }
    for s in cfg.project.services:
        template = templates[s.name]
        for role in ("ExecutionRole", "TaskRole", "BlueGreenRole", "LifecycleHookRole"):
            for statement in statements(template, role):
                if statement["Resource"] == ["*"]:
                    continue  # only listed exceptions: the IAM audit checks them
                for resource in statement["Resource"]:
                    text = json.dumps(resource)
                    assert refs(resource) <= own_references, (s.name, role, text)
                    if ":repository/" in text:
                        assert f'repository/{names.ecr_repository_name(cfg.project.name, s.name)}"' in text, (s.name, text)
                    assert "*" not in text or text.endswith(':*"}') or "log-group" in text, (s.name, role, text)


def test_health_check_target_groups_follow_the_file(make_config):
    cfg = make_config(
        environment={
            "services": {
                "health_check": {
                    "interval_seconds": 20,
                    "timeout_seconds": 4,
                    "healthy_threshold": 5,
                    "unhealthy_threshold": 4,
                    "deregistration_delay_seconds": 7,
                }
            }
        }
    )
    template = service_template(cfg, cfg.project.services[1])
    for colour in ("Blue", "Green"):
        group = props(template, f"{colour}TargetGroup")
        assert group["HealthCheckPath"] == cfg.project.services[1].health_check_path
        assert (
            group["HealthCheckIntervalSeconds"],
            group["HealthCheckTimeoutSeconds"],
            group["HealthyThresholdCount"],
            group["UnhealthyThresholdCount"],
        ) == (20, 4, 5, 4)
        assert group["TargetGroupAttributes"] == [{"Key": "deregistration_delay.timeout_seconds", "Value": "7"}]


def test_one_stack_per_service_in_project_yaml(make_config):
    cfg = make_config(project={"services": make_services(10)})
    rendered = render(cfg)
    stacks = resources_of_type(rendered[names.ROOT_TEMPLATE], "AWS::CloudFormation::Stack")
    assert sum(1 for name in stacks if name.endswith("ServiceStack")) == 10
    assert {stacks[service.stack_title(s)]["Properties"]["TemplateURL"] for s in cfg.project.services} == {"service.json"}
    assert [name for name in rendered if name.startswith("service")] == ["service.json"]


def test_services_differing_only_in_their_parameters_render_one_template(make_config):
    """Name, route, priority, port, health path and secret variable are parameters, so
    services differing in all of them share a template; the root tells them apart."""
    first = {"name": "alpha", "route_path": "/a", "container_port": 8080, "health_check_path": "/health"}
    second = {
        "name": "beta-service",
        "route_path": "/b/deeper",
        "priority": 7,
        "container_port": 9000,
        "health_check_path": "/ping",
        "secret_variable": "DB_PASSWORD",
    }
    cfg = make_config(project={"services": [first, second]})
    alpha, beta = cfg.project.services
    assert service.build(cfg, alpha).to_dict() == service.build(cfg, beta).to_dict()
    assert service.service_values(alpha) != service.service_values(beta)
    assert props(service_template(cfg, beta), "ProductionListenerRule")["Priority"] == 7


def test_a_service_of_another_shape_gets_its_own_template(make_config):
    command = ["CMD-SHELL", "curl -f http://localhost:9000/ping || exit 1"]
    services = [
        {"name": "alpha", "route_path": "/a"},
        {"name": "beta", "route_path": "/b", "container_health_command": command},
        {"name": "gamma", "route_path": "/c", "run_as_user": "2000"},
        {"name": "delta", "route_path": "/d"},
        {"name": "epsilon", "route_path": "/e", "cpu": 1024, "memory": 2048},
    ]
    cfg = make_config(project={"services": services})
    rendered = render(cfg)
    stacks = resources_of_type(rendered[names.ROOT_TEMPLATE], "AWS::CloudFormation::Stack")
    urls = {s.name: stacks[service.stack_title(s)]["Properties"]["TemplateURL"] for s in cfg.project.services}
    assert urls == {
        "alpha": "service.json",
        "beta": "service-beta.json",
        "gamma": "service-gamma.json",
        "delta": "service.json",
        "epsilon": "service-epsilon.json",
    }
    container = props(rendered["service-beta.json"], "TaskDefinition")["ContainerDefinitions"][0]
    assert container["HealthCheck"]["Command"] == command


# --- listener-rule priorities that never move ------------------------------------------------


def rule_priorities(cfg) -> dict[str, int]:
    return {s.name: props(service_template(cfg, s), "ProductionListenerRule")["Priority"] for s in cfg.project.services}


def test_priorities_do_not_move_when_services_are_reordered_added_or_removed(make_config):
    services = make_services(6)
    before = rule_priorities(make_config(project={"services": services}))
    reordered = rule_priorities(make_config(project={"services": list(reversed(services))}))
    grown = rule_priorities(make_config(project={"services": [{"name": "zeta", "route_path": "/zeta"}, *services]}))
    shrunk = rule_priorities(make_config(project={"services": services[2:]}))
    assert reordered == before
    assert {name: grown[name] for name in before} == before
    assert shrunk == {name: before[name] for name in shrunk}
    assert len(set(grown.values())) == len(grown)
    assert all(priority >= 1000 for priority in before.values())  # above the positional 1..N of earlier versions


def test_both_rules_of_a_service_share_its_explicit_priority(make_config):
    services = [{"name": "alpha", "route_path": "/alpha", "priority": 7}, {"name": "beta", "route_path": "/beta"}]
    cfg = make_config(project={"services": services})
    template = service_template(cfg, cfg.project.services[0])
    assert props(template, "ProductionListenerRule")["Priority"] == props(template, "TestListenerRule")["Priority"] == 7


# --- roles ECS assumes, partitions ------------------------------------------------------------


def test_roles_ecs_assumes_are_trusted_as_the_ecs_guide_documents(rendered):
    _, templates = rendered
    documented = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": ["ecs.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}],
    }
    for template in templates.values():
        for title in ("BlueGreenRole", "LifecycleHookRole"):
            assert props(template, title)["AssumeRolePolicyDocument"] == documented, title


def test_aws_host_names_use_the_partitions_url_suffix(rendered):
    _, templates = rendered
    for template in templates.values():
        text = json.dumps(template)
        assert "amazonaws.com}" not in text and '.amazonaws.com"' not in text.replace('"ecs.amazonaws.com"', "").replace(
            '"ecs-tasks.amazonaws.com"', ""
        )
        decrypt = [
            s for s in props(template, "ExecutionRole")["Policies"][0]["PolicyDocument"]["Statement"] if s.get("Sid") == "DecryptTheSecret"
        ][0]
        assert decrypt["Condition"]["StringEquals"]["kms:ViaService"] == {"Fn::Sub": "secretsmanager.${AWS::Region}.${AWS::URLSuffix}"}


# --- retained resources and a target deployed again ------------------------------------------


INSTANCE_SUFFIX = {"Fn::Select": [4, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]}]}


def test_retained_resources_are_named_per_stack_instance(rendered):
    """A protected target keeps its secret and log groups when deleted; deployed again, it must not collide with them."""
    cfg, templates = rendered
    for s in cfg.project.services:
        template = templates[s.name]
        secret = template["Resources"]["Secret"]
        assert secret["DeletionPolicy"] == "Retain"
        assert secret["Properties"]["Name"] == {
            "Fn::Sub": [f"{cfg.stack_prefix}-{s.name}/app-${{Instance}}", {"Instance": INSTANCE_SUFFIX}]
        }
        group = props(template, "LogGroup")["LogGroupName"]
        assert group == {"Fn::Sub": [f"/ecs/{cfg.stack_prefix}/{s.name}-${{Instance}}", {"Instance": INSTANCE_SUFFIX}]}


def test_no_retained_resource_of_an_environment_has_a_fixed_name():
    for target in TARGETS:
        for name, template in render_target(target).items():
            for logical_id, resource in template["Resources"].items():
                if resource.get("DeletionPolicy") != "Retain":
                    continue
                properties = resource.get("Properties", {})
                for key in ("Name", "LogGroupName", "BucketName", "AliasName"):
                    if key in properties:
                        assert isinstance(properties[key], dict), f"{target}/{name}: {logical_id}.{key} is fixed: {properties[key]}"


# --- alarms during a scheduled off-hours window ------------------------------------------------

OFF_HOURS = {"stop": "cron(0 20 ? * MON-FRI *)", "start": "cron(0 6 ? * MON-FRI *)", "timezone": "Europe/Paris"}


def test_task_alarms_notify_through_the_composite_only_with_an_off_hours_window(make_config):
    quiet = make_config(environment={"services": {"scaling": {"off_hours": OFF_HOURS}}})
    loud = make_config()
    for cfg, direct in ((quiet, False), (loud, True)):
        template = service_template(cfg, cfg.project.services[0])
        for title in ("HealthyHostsAlarm", "RunningTasksAlarm"):
            assert ("AlarmActions" in props(template, title)) is direct, title
        for title in ("Target5xxAlarm", "LatencyP99Alarm", "ErrorLogsAlarm"):
            assert props(template, title)["AlarmActions"] == [{"Ref": names.ALERT_TOPIC_ARN}], title


def test_no_regional_aws_host_name_is_written_with_a_literal_suffix():
    """Host names differ by partition (amazonaws.com, amazonaws.com.cn): ${AWS::URLSuffix}, never the literal."""
    for target in TARGETS:
        for name, template in render_target(target).items():
            assert "${AWS::Region}.amazonaws.com" not in json.dumps(template), f"{target}/{name}"


# A value either side of each rule the loader applies to a per-service setting.
SAMPLES = {
    interface.SERVICE_NAME: ["api", "api-service", "a", "Api", "api-", "x" * 32, "x" * 33],
    interface.ROUTE_PATH: ["/api", "/v1/orders", "/api/", "/API", "api", "/api/*"],
    interface.CONTAINER_PORT: ["1024", "8080", "65535", "1023", "80", "65536"],
    interface.HEALTH_CHECK_PATH: ["/health", "/", "/ready.json", "health", "/he alth"],
    interface.SECRET_VARIABLE: ["APP_SECRET", "DB_PASSWORD2", "app_secret", "1SECRET"],
    interface.RULE_PRIORITY: ["1", "1000", "50000", "0", "50001"],
}


@pytest.mark.parametrize("parameter", sorted(SAMPLES))
def test_a_service_parameter_accepts_exactly_what_its_declaration_accepts(parameter):
    """The stack parameter's constraints come from the field's declaration: the two agree on every value."""
    from builder.preflight.cloudformation import constraint_problem

    declared = service.build(load_target("staging"), load_target("staging").project.services[0]).to_dict()["Parameters"][parameter]
    check = interface.PER_SERVICE_VALUES[parameter].check
    for value in SAMPLES[parameter]:
        typed = int(value) if declared["Type"] == "Number" else value
        assert (constraint_problem(value, declared) is None) == (check(typed) is None), (parameter, value)


def test_the_container_health_command_is_told_the_health_path(make_config):
    """The default health command (service_kit.healthcheck) reads HEALTH_CHECK_PATH: a service checked at /ping by
    its target groups is checked at /ping by its container too."""
    cfg = make_config(project={"services": [{"name": "api", "route_path": "/api", "health_check_path": "/ping"}]})
    (container,) = props(service_template(cfg, cfg.project.services[0]), "TaskDefinition")["ContainerDefinitions"]
    assert {"Name": "HEALTH_CHECK_PATH", "Value": "/ping"} in container["Environment"]


@pytest.mark.parametrize(
    ("command", "warned"),
    [
        (None, False),  # the default command reads HEALTH_CHECK_PATH
        (["CMD-SHELL", "curl -fs http://localhost:8080/ping"], False),  # names the path
        (["CMD-SHELL", "curl -fs http://localhost:8080$HEALTH_CHECK_PATH"], False),  # reads the variable
        (["CMD-SHELL", "curl -fs http://localhost:8080/health"], True),  # checks another endpoint
    ],
)
def test_a_health_command_that_cannot_know_the_health_path_is_warned_about(make_config, command, warned):
    service = {"name": "api", "route_path": "/api", "health_check_path": "/ping", "container_health_command": command}
    cfg = make_config(project={"services": [{k: v for k, v in service.items() if v is not None}]})
    lines = [w for w in cfg.warnings if "container_health_command" in w]
    assert bool(lines) is warned, lines
    if warned:
        assert lines[0].startswith("project.yaml: services[0].container_health_command:") and "'/ping'" in lines[0]
