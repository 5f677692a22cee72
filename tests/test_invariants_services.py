"""Invariants of every service of every environment under test (see tests/test_invariants.py): how it deploys
and rolls back, how its health is judged, how its container is hardened, how it scales and what it alarms on.

Each service is checked in its stack's template as deployed (``helpers.deployed_services``: the shared template
with the values the root passes filled in), against its own entry of project.yaml and the target's file.
"""

from __future__ import annotations

import json

from templates import names
from tests.templates.helpers import deployed_services, every, only, resources_of_type, target_of, unread_ids

# What each alarm of a service watches, as the configuration documents it: (its file's key, the comparison).
ALARMS = {
    "target5xx": ("target_5xx", "GreaterThanOrEqualToThreshold"),  # at or above
    "latencyp99": ("latency_p99", "GreaterThanThreshold"),  # above
    "healthyhosts": ("healthy_hosts", "LessThanThreshold"),  # below
    "runningtasks": ("running_tasks", "LessThanThreshold"),  # below
    "errorlogs": ("error_logs", "GreaterThanOrEqualToThreshold"),  # at or above
}
SHIFT_READS = {
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeListeners",
}
# Alarms on the tasks themselves: every one of them breaches while an off-hours window scales the service to zero.
QUIET_IN_OFF_HOURS = ("healthyhosts", "runningtasks")


def alarm_kind(config, service, alarm: dict) -> str:
    prefix = f"{config.stack_prefix}-{service.name}-"
    assert alarm["AlarmName"].startswith(prefix), alarm["AlarmName"]
    return alarm["AlarmName"][len(prefix) :]


def service_alarms(config, service, template) -> dict[str, tuple[str, dict]]:
    """Kind (``target5xx``, ...) -> (logical id, properties) of the service's alarms, by their names."""
    return {
        alarm_kind(config, service, alarm["Properties"]): (logical_id, alarm["Properties"])
        for logical_id, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items()
    }


def metric_names(alarm: dict) -> set[str]:
    return {q["MetricStat"]["Metric"]["MetricName"] for q in alarm.get("Metrics", []) if "MetricStat" in q} | (
        {alarm["MetricName"]} if "MetricName" in alarm else set()
    )


def target_group_dimensions(alarm: dict) -> set[str]:
    return {
        target_of(d["Value"])
        for q in alarm.get("Metrics", [])
        if "MetricStat" in q
        for d in q["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "TargetGroup"
    }


def ecs_service(template: dict, where: str) -> tuple[str, dict]:
    return only(template, "AWS::ECS::Service", where)


def target_groups(properties: dict) -> tuple[str, str]:
    """(blue, green): the target group the service registers in, and the alternate one."""
    (balancer,) = properties["LoadBalancers"]
    return target_of(balancer["TargetGroupArn"]), target_of(balancer["AdvancedConfiguration"]["AlternateTargetGroupArn"])


def statements(role: dict) -> list[dict]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


# --- the cluster ----------------------------------------------------------------------------------


def test_the_cluster_is_named_as_the_services_arns_expect_and_places_tasks_as_the_file_says(configured_environment):
    """The hook's policy and the deployment-event rule name services as service/<project>-<target>/...: the
    cluster's name is that prefix."""
    cfg = configured_environment.config
    settings = cfg.environment.cluster
    file = names.template_file("cluster")
    logical_id, cluster = only(configured_environment.rendered[file], "AWS::ECS::Cluster", file)
    where = f"{file}: {logical_id}"
    assert cluster["ClusterName"] == cfg.stack_prefix, where
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": settings.container_insights}], where
    strategy = {item["CapacityProvider"]: item for item in cluster["DefaultCapacityProviderStrategy"]}
    wanted = {"FARGATE": (settings.fargate_weight, settings.fargate_base), "FARGATE_SPOT": (settings.fargate_spot_weight, 0)}
    # A provider with no weight and no base would never run a task: it is left out.
    assert strategy.keys() == {p for p, (weight, base) in wanted.items() if weight or base}, where
    for provider, item in strategy.items():
        assert (item["Weight"], item.get("Base", 0)) == wanted[provider], f"{where}: {provider}"
    assert set(strategy) <= set(cluster["CapacityProviders"]) <= set(wanted), f"{where}: the strategy's providers are the cluster's"
    assert cluster["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"], f"{where}: both, so a file may move between them"


# --- deployments ----------------------------------------------------------------------------------


def test_every_service_deploys_blue_green_through_the_hook_with_rollback(configured_environment):
    cfg = configured_environment.config
    services = deployed_services(configured_environment)
    assert len(list(every(configured_environment.deployed, "AWS::ECS::Service"))) == len(cfg.project.services)
    for service, file, template in services:
        logical_id, properties = ecs_service(template, file)
        where = f"{file}: {logical_id}"
        assert properties["DeploymentController"] == {"Type": "ECS"}, where
        deployment = properties["DeploymentConfiguration"]
        assert deployment["Strategy"] == "BLUE_GREEN", where
        assert deployment["MinimumHealthyPercent"] == 100 and deployment["MaximumPercent"] == 200, where
        assert deployment["BakeTimeInMinutes"] == cfg.environment.services.bake_time_minutes, where
        # A green revision that never becomes healthy never reaches the hook: the circuit breaker rolls it back.
        assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}, where
        alarms = deployment["Alarms"]
        assert alarms["Enable"] is True and alarms["Rollback"] is True, where
        by_kind = service_alarms(cfg, service, template)
        assert [target_of(a) for a in alarms["AlarmNames"]] == [by_kind["target5xx"][0], by_kind["latencyp99"][0]], where
        # a release keeps what autoscaling has set (the deployer says KeepDesiredCount once the service exists)
        running = {"Fn::If": ["Running", cfg.environment.services.scaling.min_tasks, 0]}
        assert properties["DesiredCount"] == {"Fn::If": ["KeepDesiredCount", {"Ref": "AWS::NoValue"}, running]}, where
        assert properties["HealthCheckGracePeriodSeconds"] == cfg.environment.services.health_check.grace_period_seconds, where
        assert properties["TaskDefinition"] == {"Ref": only(template, "AWS::ECS::TaskDefinition", file)[0]}, where


def test_the_rollback_alarms_judge_the_services_own_5xx_and_p99_latency(configured_environment):
    cfg = configured_environment.config
    for service, file, template in deployed_services(configured_environment):
        _, properties = ecs_service(template, file)
        groups = set(target_groups(properties))
        for kind, metric, statistic in (("target5xx", "HTTPCode_Target_5XX_Count", "Sum"), ("latencyp99", "TargetResponseTime", "p99")):
            logical_id, alarm = service_alarms(cfg, service, template)[kind]
            where = f"{file}: {logical_id}"
            assert metric_names(alarm) == {metric}, where
            assert {q["MetricStat"]["Stat"] for q in alarm["Metrics"] if "MetricStat" in q} == {statistic}, where
            assert target_group_dimensions(alarm) == groups, f"{where}: over both of the service's target groups"
            (live,) = [q for q in alarm["Metrics"] if q.get("ReturnData")]
            assert {"blue", "green"} <= {q["Id"] for q in alarm["Metrics"]}, where
            assert "blue" in live["Expression"] and "green" in live["Expression"], f"{where}: whichever group is live"


def test_the_hook_checks_each_green_task_and_rolls_back_when_it_fails_or_never_answers(configured_environment):
    health_check = configured_environment.rendered[names.template_file("health-check")]
    hook_function = health_check["Resources"][target_of(health_check["Outputs"][names.HOOK_FUNCTION_ARN]["Value"])]["Properties"]
    own_bound = int(hook_function["Environment"]["Variables"]["HOOK_MAX_WAIT_SECONDS"])
    for service, file, template in deployed_services(configured_environment):
        logical_id, properties = ecs_service(template, file)
        where = f"{file}: {logical_id}"
        (hook,) = properties["DeploymentConfiguration"]["LifecycleHooks"]
        assert hook["LifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"], where
        assert hook["HookTargetArn"] == {"Ref": names.HOOK_FUNCTION_ARN} and names.HOOK_FUNCTION_ARN in template["Parameters"], where
        timeout = hook["TimeoutConfiguration"]
        assert timeout["Action"] == "ROLLBACK", where
        # A backstop beyond the function's own bound, and beyond one invocation.
        assert timeout["TimeoutInMinutes"] * 60 > max(own_bound, hook_function["Timeout"]), where
        (balancer,) = properties["LoadBalancers"]
        test_rule = balancer["AdvancedConfiguration"]["TestListenerRule"]
        assert hook["HookDetails"] == {
            "serviceName": service.name,
            "testListenerRuleArn": test_rule,
            "port": service.container_port,
            "healthPath": service.health_check_path,
        }, where
        role = template["Resources"][target_of(hook["RoleArn"])]
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": ["ecs.amazonaws.com"]}, where
        assert [(s["Action"], s["Resource"]) for s in statements(role)] == [
            (["lambda:InvokeFunction"], [{"Ref": names.HOOK_FUNCTION_ARN}])
        ], f"{where}: the hook role invokes the hook and nothing else"


def test_traffic_shifts_between_the_services_own_target_groups_and_rules(configured_environment):
    for service, file, template in deployed_services(configured_environment):
        logical_id, properties = ecs_service(template, file)
        where = f"{file}: {logical_id}"
        (balancer,) = properties["LoadBalancers"]
        advanced = balancer["AdvancedConfiguration"]
        blue, green = target_groups(properties)
        assert blue != green and {blue, green} == set(resources_of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup")), where
        _, task = only(template, "AWS::ECS::TaskDefinition", file)
        (container,) = task["ContainerDefinitions"]
        assert balancer["ContainerName"] == container["Name"] and balancer["ContainerPort"] == service.container_port, where
        rules = {
            "ProductionListenerRule": names.PRODUCTION_LISTENER_ARN,
            "TestListenerRule": names.TEST_LISTENER_ARN,
        }
        shifted = []
        for key, listener in rules.items():
            rule_id = target_of(advanced[key])
            rule = template["Resources"][rule_id]["Properties"]
            rule_where = f"{file}: {rule_id}"
            assert rule["ListenerArn"] == {"Ref": listener}, rule_where
            assert rule["Priority"] == service.rule_priority, rule_where
            assert rule["Conditions"] == [
                {"Field": "path-pattern", "PathPatternConfig": {"Values": [service.route_path, f"{service.route_path}/*"]}}
            ], rule_where
            (action,) = rule["Actions"]
            weights = [(target_of(g["TargetGroupArn"]), g["Weight"]) for g in action["ForwardConfig"]["TargetGroups"]]
            assert action["Type"] == "forward" and weights == [(blue, 100), (green, 0)], rule_where
            shifted.append({"Ref": rule_id})
        role = template["Resources"][target_of(advanced["RoleArn"])]
        # What ECS reads to shift traffic (ECS guide, "Amazon ECS infrastructure IAM role for load balancers").
        reads = {a for s in statements(role) if s["Resource"] == ["*"] for a in s["Action"]}
        assert reads >= SHIFT_READS, f"{where}: ECS cannot read {sorted(SHIFT_READS - reads)}"
        modify = [s for s in statements(role) if "elasticloadbalancing:ModifyRule" in s["Action"]]
        assert [s["Resource"] for s in modify] == [shifted], f"{where}: ECS may modify this service's two rules only"
        moves = [s for s in statements(role) if "elasticloadbalancing:RegisterTargets" in s["Action"]]
        assert [s["Resource"] for s in moves] == [[{"Ref": blue}, {"Ref": green}]], where


def test_target_groups_judge_health_as_the_file_says(configured_environment):
    check = configured_environment.config.environment.services.health_check
    for service, file, template in deployed_services(configured_environment):
        groups = resources_of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
        assert len(groups) == 2, file
        for logical_id, group in groups.items():
            properties, where = group["Properties"], f"{file}: {logical_id}"
            assert properties["TargetType"] == "ip" and properties["Protocol"] == "HTTP", where
            assert properties["Port"] == service.container_port and properties["VpcId"] == {"Ref": names.VPC_ID}, where
            assert properties["HealthCheckPath"] == service.health_check_path, where
            assert properties.get("HealthCheckProtocol", "HTTP") == "HTTP", where
            assert properties.get("HealthCheckPort", "traffic-port") == "traffic-port", where
            assert properties["HealthCheckIntervalSeconds"] == check.interval_seconds, where
            assert properties["HealthCheckTimeoutSeconds"] == check.timeout_seconds, where
            assert properties["HealthyThresholdCount"] == check.healthy_threshold, where
            assert properties["UnhealthyThresholdCount"] == check.unhealthy_threshold, where
            assert properties["Matcher"] == {"HttpCode": "200"}, where
            attributes = {a["Key"]: a["Value"] for a in properties["TargetGroupAttributes"]}
            assert attributes == {"deregistration_delay.timeout_seconds": str(check.deregistration_delay_seconds)}, where


# --- the container ------------------------------------------------------------------------------


def test_every_container_is_hardened(configured_environment):
    """Read-only root, the service's own non-root user, not privileged, essential, logs to its group, secrets by ARN."""
    for service, file, template in deployed_services(configured_environment):
        logical_id, task = only(template, "AWS::ECS::TaskDefinition", file)
        where = f"{file}: {logical_id}"
        assert task["RequiresCompatibilities"] == ["FARGATE"] and task["NetworkMode"] == "awsvpc", where
        assert task["Cpu"] == str(service.cpu) and task["Memory"] == str(service.memory), where
        (container,) = task["ContainerDefinitions"]
        assert container["ReadonlyRootFilesystem"] is True, where
        assert container["User"] == service.run_as_user, where
        assert all(part not in ("0", "root") for part in container["User"].split(":")), f"{where}: never root"
        assert not container.get("Privileged") and "LinuxParameters" not in container, where
        assert container["Essential"] is True, where
        assert container["Memory"] == int(task["Memory"]), f"{where}: the container's hard limit is the task's memory"
        assert container["PortMappings"] == [{"ContainerPort": service.container_port, "Protocol": "tcp"}], where
        assert container["HealthCheck"]["Command"] == list(service.container_health_command), where
        assert 1 <= container["StopTimeout"] <= 120, f"{where}: a graceful stop, within Fargate's limit"
        writable = {m["ContainerPath"] for m in container.get("MountPoints", []) if not m.get("ReadOnly")}
        volumes = task.get("Volumes", [])
        assert writable <= {"/tmp"} and all(set(v) == {"Name"} for v in volumes), f"{where}: only a task-local /tmp is writable"
        log = container["LogConfiguration"]
        group = target_of(log["Options"]["awslogs-group"])
        assert log["LogDriver"] == "awslogs" and template["Resources"][group]["Type"] == "AWS::Logs::LogGroup", where
        assert log["Options"]["awslogs-region"] == {"Ref": "AWS::Region"} and log["Options"]["awslogs-stream-prefix"] == service.name, where


def test_secrets_reach_the_container_by_arn_never_as_plain_environment(configured_environment):
    for service, file, template in deployed_services(configured_environment):
        logical_id, task = only(template, "AWS::ECS::TaskDefinition", file)
        where = f"{file}: {logical_id}"
        (container,) = task["ContainerDefinitions"]
        secret_id, _ = only(template, "AWS::SecretsManager::Secret", file)
        secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
        assert secrets[service.secret_variable] == {"Ref": secret_id}, where
        for name, value_from in secrets.items():
            arn = value_from == {"Ref": secret_id} or (
                "Fn::Sub" in value_from
                and value_from["Fn::Sub"][0].startswith("arn:${AWS::Partition}:ssm:")
                and template["Resources"][target_of(value_from["Fn::Sub"][1]["Name"])]["Type"] == "AWS::SSM::Parameter"
            )
            assert arn, f"{where}: {name} must come from the secret or an SSM parameter, by ARN"
        environment = {e["Name"]: e["Value"] for e in container.get("Environment", [])}
        assert not set(environment) & set(secrets), f"{where}: a secret's variable set in plain Environment too"
        # What the service reads to listen, name itself, report its version and strip its route (services/common).
        told = {"PORT": service.container_port, "SERVICE_NAME": service.name, "SERVICE_VERSION": {"Ref": names.IMAGE_TAG}}
        assert environment.items() >= {**told, "ROUTE_PREFIX": service.route_path}.items(), where
        assert all(secret_id not in str(value) for value in environment.values()), where


def test_ecs_may_start_each_task_pull_its_image_write_its_logs_and_read_its_secrets(configured_environment):
    """The execution role: what ECS needs to start the task (ECS guide, "Amazon ECS task execution IAM role")."""
    cfg = configured_environment.config
    for service, file, template in deployed_services(configured_environment):
        _, task = only(template, "AWS::ECS::TaskDefinition", file)
        role_id = target_of(task["ExecutionRoleArn"])
        where = f"{file}: {role_id}"
        role = template["Resources"][role_id]["Properties"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": ["ecs-tasks.amazonaws.com"]}, where
        granted: dict[str, list] = {}
        for statement in (s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"):
            for action in statement["Action"]:
                granted.setdefault(action, []).extend(statement["Resource"])
        repository = names.ecr_repository_name(cfg.project.name, service.name)
        for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
            assert [json.dumps(r) for r in granted.get(action, [])] == [
                json.dumps({"Fn::Sub": f"arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{repository}"})
            ], f"{where}: {action} on its own repository"
        assert granted.get("ecr:GetAuthorizationToken") == ["*"], where
        (container,) = task["ContainerDefinitions"]
        group = container["LogConfiguration"]["Options"]["awslogs-group"]
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            assert [json.dumps(group) in json.dumps(r) for r in granted.get(action, [])] == [True], f"{where}: {action} on its log group"
        for secret in container["Secrets"]:
            action = "secretsmanager:GetSecretValue" if "Ref" in secret["ValueFrom"] else "ssm:GetParameters"
            assert secret["ValueFrom"] in granted.get(action, []), f"{where}: {action} for {secret['Name']}"
        assert granted.get("kms:Decrypt") == [{"Ref": names.ENVIRONMENT_KEY_ARN}], f"{where}: the secret's key"


def test_the_running_code_may_reread_its_own_settings_and_nothing_else(configured_environment):
    for _, file, template in deployed_services(configured_environment):
        _, task = only(template, "AWS::ECS::TaskDefinition", file)
        role_id = target_of(task["TaskRoleArn"])
        where = f"{file}: {role_id}"
        statements = [s for p in template["Resources"][role_id]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
        settings = {
            json.dumps({"Fn::Sub": ["arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Name}", {"Name": {"Ref": i}}]})
            for i in resources_of_type(template, "AWS::SSM::Parameter")
        }
        ((actions, resources),) = [(set(s["Action"]), {json.dumps(r) for r in s["Resource"]}) for s in statements]
        assert actions == {"ssm:GetParameter", "ssm:GetParameters"} and resources == settings, where


# --- scaling -------------------------------------------------------------------------------------


def test_autoscaling_follows_the_file(configured_environment):
    scaling = configured_environment.config.environment.services.scaling
    for _, file, template in deployed_services(configured_environment):
        service_id, _ = ecs_service(template, file)
        target_id, target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget", file)
        where = f"{file}: {target_id}"
        assert target["ScalableDimension"] == "ecs:service:DesiredCount" and target["ServiceNamespace"] == "ecs", where
        resource = ["service", {"Ref": names.CLUSTER_NAME}, {"Fn::GetAtt": [service_id, "Name"]}]
        assert target["ResourceId"] == {"Fn::Join": ["/", resource]}, where
        assert target["MinCapacity"] == {"Fn::If": ["Running", scaling.min_tasks, 0]}, where
        assert target["MaxCapacity"] == {"Fn::If": ["Running", scaling.max_tasks, 0]}, where
        hours = scaling.off_hours
        if hours.stop:
            stop, start = target["ScheduledActions"]
            assert (stop["Schedule"], stop["Timezone"]) == (hours.stop, hours.timezone), where
            assert stop["ScalableTargetAction"] == {"MinCapacity": 0, "MaxCapacity": 0}, where
            assert (start["Schedule"], start["Timezone"]) == (hours.start, hours.timezone), where
            assert start["ScalableTargetAction"] == {"MinCapacity": target["MinCapacity"], "MaxCapacity": target["MaxCapacity"]}, where
        else:
            assert target.get("ScheduledActions", {"Ref": "AWS::NoValue"}) == {"Ref": "AWS::NoValue"}, where
        _, blue_green = only(template, "AWS::ECS::Service", file)
        groups = set(target_groups(blue_green))
        policies = resources_of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
        tracked = {}
        for logical_id, policy in policies.items():
            properties, policy_where = policy["Properties"], f"{file}: {logical_id}"
            assert properties["PolicyType"] == "TargetTrackingScaling" and properties["ScalingTargetId"] == {"Ref": target_id}, policy_where
            tracking = properties["TargetTrackingScalingPolicyConfiguration"]
            assert tracking["ScaleInCooldown"] == scaling.scale_in_cooldown_seconds, policy_where
            assert tracking["ScaleOutCooldown"] == scaling.scale_out_cooldown_seconds, policy_where
            assert not tracking.get("DisableScaleIn"), policy_where
            if "PredefinedMetricSpecification" in tracking:
                tracked[tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]] = tracking["TargetValue"]
            else:
                queries = tracking["CustomizedMetricSpecification"]["Metrics"]
                stats = [q["MetricStat"] for q in queries if "MetricStat" in q]
                assert {s["Metric"]["MetricName"] for s in stats} == {"RequestCountPerTarget"}, policy_where
                dimensions = {target_of(d["Value"]) for s in stats for d in s["Metric"]["Dimensions"] if d["Name"] == "TargetGroup"}
                assert dimensions == groups and [q["ReturnData"] for q in queries].count(True) == 1, policy_where
                assert not unread_ids(queries), f"{policy_where}: reads {sorted(unread_ids(queries))}"
                tracked["RequestCountPerTarget"] = tracking["TargetValue"]
        assert tracked == {
            "ECSServiceAverageCPUUtilization": float(scaling.cpu_target_percent),
            "RequestCountPerTarget": float(scaling.requests_per_target),
        }, file


# --- alarms --------------------------------------------------------------------------------------


def test_every_service_alarm_follows_the_file(configured_environment):
    cfg = configured_environment.config
    alarms = cfg.environment.alarms
    off_hours = bool(cfg.environment.services.scaling.off_hours.stop)
    for service, file, template in deployed_services(configured_environment):
        by_kind = service_alarms(cfg, service, template)
        assert set(by_kind) == set(ALARMS), file
        _, blue_green = ecs_service(template, file)
        for kind, (logical_id, alarm) in by_kind.items():
            where = f"{file}: {logical_id}"
            key, comparison = ALARMS[kind]
            spec = getattr(alarms, key)
            assert alarm["ComparisonOperator"] == comparison, where
            assert alarm["Threshold"] == spec.threshold, where
            assert alarm["EvaluationPeriods"] == spec.evaluation_periods, where
            assert alarm["DatapointsToAlarm"] == spec.datapoints_to_alarm, where
            assert alarm["TreatMissingData"] == spec.treat_missing_data, where
            periods = {q["MetricStat"]["Period"] for q in alarm.get("Metrics", []) if "MetricStat" in q} | (
                {alarm["Period"]} if "Period" in alarm else set()
            )
            assert periods == {spec.period_seconds}, where
            direct = not (off_hours and kind in QUIET_IN_OFF_HOURS)
            topic = [{"Ref": names.ALERT_TOPIC_ARN}]
            assert (alarm.get("AlarmActions"), alarm.get("OKActions")) == ((topic, topic) if direct else (None, None)), where
        healthy = by_kind["healthyhosts"][1]
        assert metric_names(healthy) == {"HealthyHostCount"} and target_group_dimensions(healthy) == set(target_groups(blue_green)), file
        running = by_kind["runningtasks"][1]
        dimensions = {d["Name"]: d["Value"] for d in running["Dimensions"]}
        assert running["Namespace"] == "AWS/ECS" and running["Statistic"] == "SampleCount", file
        assert dimensions == {"ClusterName": {"Ref": names.CLUSTER_NAME}, "ServiceName": blue_green["ServiceName"]}, file
        errors = by_kind["errorlogs"][1]
        _, metric_filter = only(template, "AWS::Logs::MetricFilter", file)
        (transformation,) = metric_filter["MetricTransformations"]
        assert (errors["Namespace"], errors["MetricName"]) == (transformation["MetricNamespace"], transformation["MetricName"]), file
        assert errors["Statistic"] == "Sum" and metric_filter["FilterPattern"] == '{ $.level = "ERROR" }', file
        # A period without an ERROR line counts zero, not missing data (which the file may say breaches).
        assert (transformation["MetricValue"], transformation["DefaultValue"]) == ("1", 0), file
        assert template["Resources"][target_of(metric_filter["LogGroupName"])]["Type"] == "AWS::Logs::LogGroup", file
