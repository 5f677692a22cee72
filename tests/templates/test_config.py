"""The configuration loader: defaults, and one clear line per problem."""

from __future__ import annotations

import re

import pytest

from templates import config as config_module
from templates.config import fields, model
from tests.conftest import SAMPLE, TARGETS

ENDPOINTS_WITHOUT_ECS = ["ecr-api", "ecr-dkr", "logs", "secretsmanager", "ssm", "elasticloadbalancing"]
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize("target", TARGETS)
def test_repository_parameter_files_load(target):
    cfg = config_module.load(SAMPLE, target)
    assert cfg.target == target
    assert [s.name for s in cfg.project.services] == ["api-service", "auth-service", "notification-service"]


def test_every_environment_file_is_a_target():
    assert set(TARGETS) >= {"dev", "staging", "production"}


def test_defaults_fill_omitted_keys(make_config):
    cfg = make_config(project={"services": [{"name": "solo", "route_path": "/solo"}]}, environment={"network": None, "logs": None})
    service = cfg.project.services[0]
    assert (service.container_port, service.health_check_path, service.cpu, service.memory) == (8080, "/health", 256, 512)
    assert service.source_dir == "services/solo" and service.dockerfile_path == "services/solo/Dockerfile"
    assert cfg.environment.network == model.Network()
    assert cfg.environment.logs.retention_days == 30


def test_config_is_frozen():
    cfg = config_module.load(SAMPLE, "staging")
    with pytest.raises(AttributeError):
        cfg.environment.network.az_count = 3


BAD_INPUTS = [
    # (what is wrong, project override, environment override, key path, value shown, words of the accepted form)
    ("unknown key", {}, {"network": {"vpc_cdir": "10.0.0.0/16"}}, "network.vpc_cdir", "'vpc_cdir'", "one of the keys"),
    ("wrong type", {}, {"network": {"az_count": "two"}}, "network.az_count", "'two'", "a int"),
    ("bool for int", {}, {"logs": {"retention_days": True}}, "logs.retention_days", "True", "a int"),
    ("az count", {}, {"network": {"az_count": 4}}, "network.az_count", "4", "one of 2, 3"),
    ("nat mode", {}, {"network": {"nat_mode": "gateway"}}, "network.nat_mode", "'gateway'", "'none', 'single', 'per-az'"),
    ("bad vpc cidr", {}, {"network": {"vpc_cidr": "10.0.0.1/16"}}, "network.vpc_cidr", "'10.0.0.1/16'", "no host bits"),
    ("not a cidr", {}, {"network": {"vpc_cidr": "banana"}}, "network.vpc_cidr", "'banana'", "CIDR form"),
    (
        "overlapping subnets",
        {},
        {
            "network": {
                "vpc_cidr": "10.0.0.0/16",
                "public_subnets": ["10.0.0.0/20", "10.0.16.0/20"],
                "private_subnets": ["10.0.8.0/24", "10.0.64.0/20"],
            }
        },
        "network.private_subnets[0]",
        "'10.0.8.0/24' overlaps network.public_subnets[0]",
        "disjoint",
    ),
    (
        "subnet outside vpc",
        {},
        {
            "network": {
                "vpc_cidr": "10.0.0.0/16",
                "public_subnets": ["10.1.0.0/20", "10.0.16.0/20"],
                "private_subnets": ["10.0.32.0/20", "10.0.64.0/20"],
            }
        },
        "network.public_subnets[0]",
        "'10.1.0.0/20' is outside the VPC",
        "within 10.0.0.0/16",
    ),
    ("subnet count", {}, {"network": {"public_subnets": ["10.10.0.0/20"]}}, "network.public_subnets", "1 subnets", "one per AZ"),
    (
        "unknown endpoint",
        {},
        {"network": {"nat_mode": "single", "interface_endpoints": ["ecr-api", "sqs"]}},
        "network.interface_endpoints[1]",
        "'sqs'",
        "ecr-api",
    ),
    (
        "endpoints without nat",
        {},
        {"network": {"interface_endpoints": ["ecr-api", "ecr-dkr", "logs"]}},
        "network.interface_endpoints",
        "lacks secretsmanager, ssm, elasticloadbalancing",
        "or a nat_mode of 'single'",
    ),
    ("endpoint azs", {}, {"network": {"endpoint_az_count": 3}}, "network.endpoint_az_count", "3", "0 (every AZ) to 2"),
    ("retention", {}, {"logs": {"retention_days": 31}}, "logs.retention_days", "31", "one of 1, 3, 5"),
    ("insights", {}, {"cluster": {"container_insights": "on"}}, "cluster.container_insights", "'on'", "'enabled'"),
    (
        "no capacity",
        {},
        {"cluster": {"fargate_weight": 0, "fargate_base": 0, "fargate_spot_weight": 0}},
        "cluster",
        "no capacity",
        "a weight above 0",
    ),
    ("certificate", {}, {"load_balancer": {"certificate_arn": "my-cert"}}, "load_balancer.certificate_arn", "'my-cert'", "ACM"),
    ("listener port", {}, {"load_balancer": {"test_listener_port": 80}}, "load_balancer.test_listener_port", "80", "1024 to 65535"),
    ("cpu", {"services": [{"name": "alpha", "route_path": "/a", "cpu": 300}]}, {}, "services[0].cpu", "300", "one of 256, 512"),
    (
        "cpu/memory pair",
        {"services": [{"name": "alpha", "route_path": "/a", "cpu": 256, "memory": 4096}]},
        {},
        "services[0].memory",
        "4096 is not accepted with cpu 256",
        "512",
    ),
    (
        "duplicate name",
        {"services": [{"name": "alpha", "route_path": "/a"}, {"name": "alpha", "route_path": "/b"}]},
        {},
        "services[1].name",
        "'alpha' is already used by services[0]",
        "unique name",
    ),
    (
        "duplicate route",
        {"services": [{"name": "alpha", "route_path": "/a"}, {"name": "beta", "route_path": "/a"}]},
        {},
        "services[1].route_path",
        "'/a' is already used by services[0]",
        "unique route_path",
    ),
    (
        "shadowed route",
        {"services": [{"name": "alpha", "route_path": "/a"}, {"name": "beta", "route_path": "/a/b"}]},
        {},
        "services[1].route_path",
        "'/a/b' lies under services[0]",
        "prefix no other",
    ),
    (
        "route wildcard",
        {"services": [{"name": "alpha", "route_path": "/a/*"}]},
        {},
        "services[0].route_path",
        "'/a/*'",
        "clean path prefix",
    ),
    ("route trailing slash", {"services": [{"name": "alpha", "route_path": "/a/"}]}, {}, "services[0].route_path", "'/a/'", "no trailing"),
    ("service name", {"services": [{"name": "Api_Service", "route_path": "/a"}]}, {}, "services[0].name", "'Api_Service'", "lowercase"),
    ("missing route", {"services": [{"name": "alpha"}]}, {}, "services[0].route_path", "missing", "required"),
    ("no services", {"services": []}, {}, "services", "[]", "at least one"),
    ("services not a list", {"services": {"name": "alpha"}}, {}, "services", "{'name': 'alpha'}", "a list"),
    (
        "priority used twice",
        {"services": [{"name": "alpha", "route_path": "/a", "priority": 5}, {"name": "beta", "route_path": "/b", "priority": 5}]},
        {},
        "services[1].priority",
        "5 (set) is already used by services[0]",
        "no other service uses",
    ),
    (
        "priority out of range",
        {"services": [{"name": "alpha", "route_path": "/a", "priority": 50001}]},
        {},
        "services[0].priority",
        "50001",
        "0, or an integer from 1 to 50000",
    ),
    (
        "certificate without domain",
        {},
        {"load_balancer": {"certificate_arn": CERTIFICATE}},
        "load_balancer.domain_name",
        "missing",
        "the name the certificate covers",
    ),
    (
        "bad domain",
        {},
        {"load_balancer": {"domain_name": "Shop.Example.COM"}},
        "load_balancer.domain_name",
        "'Shop.Example.COM'",
        "lowercase DNS name",
    ),
    (
        "zone without domain",
        {},
        {"load_balancer": {"hosted_zone_id": "Z0123456789ABCDEFGHIJ"}},
        "load_balancer.hosted_zone_id",
        "without a domain_name",
        "expected a domain_name",
    ),
    ("bad zone id", {}, {"load_balancer": {"hosted_zone_id": "zone-1"}}, "load_balancer.hosted_zone_id", "'zone-1'", "hosted zone id"),
    (
        "protected without certificate",
        {},
        {"protected": True, "load_balancer": {"certificate_arn": ""}},
        "load_balancer.certificate_arn",
        "missing on a protected target",
        "plain_http: true",
    ),
    (
        "certificate and plain http",
        {},
        {"load_balancer": {"certificate_arn": CERTIFICATE, "domain_name": "shop.example.org", "plain_http": True}},
        "load_balancer.plain_http",
        "true with a certificate_arn",
        "one of the two",
    ),
    (
        "hook cannot reach ecs",
        {},
        {"network": {"nat_mode": "none", "interface_endpoints": ENDPOINTS_WITHOUT_ECS}},
        "network.interface_endpoints",
        "lacks ecs",
        "or a nat_mode of 'single' or 'per-az'",
    ),
    # Values that reach a shell command, a template or AWS and that AWS (or a shell) would take otherwise.
    *[
        (f"path field {key} {value!r}", {"services": [{"name": "alpha", "route_path": "/a", key: value}]}, {}, f"services[0].{key}",
         repr(value), "a relative path inside the repository")
        for key in ("source_path", "dockerfile", "build_context")
        for value in ("services/x; curl example.com | sh #", "../outside", "/etc", "a/../../b", "two words", "line\nbreak")
    ],
    ("health path with ..", {"services": [{"name": "alpha", "route_path": "/a", "health_check_path": "/../admin"}]}, {},
     "services[0].health_check_path", "'/../admin'", "no segment starting with ."),
    ("empty health command", {"services": [{"name": "alpha", "route_path": "/a", "container_health_command": []}]}, {},
     "services[0].container_health_command", "[]", "CMD or CMD-SHELL followed by the command"),
    ("unknown health command form", {"services": [{"name": "alpha", "route_path": "/a", "container_health_command": ["RUN", "x"]}]},
     {}, "services[0].container_health_command", "['RUN', 'x']", "CMD or CMD-SHELL"),
    ("secret named PATH", {"services": [{"name": "alpha", "route_path": "/a", "secret_variable": "PATH"}]}, {},
     "services[0].secret_variable", "'PATH'", "the task or its runtime sets that variable"),
    ("secret named like the task's own", {"services": [{"name": "alpha", "route_path": "/a", "secret_variable": "SERVICE_VERSION"}]},
     {}, "services[0].secret_variable", "'SERVICE_VERSION'", "expected another name"),
    ("secret named AWS_", {"services": [{"name": "alpha", "route_path": "/a", "secret_variable": "AWS_SECRET_ACCESS_KEY"}]}, {},
     "services[0].secret_variable", "'AWS_SECRET_ACCESS_KEY'", "starting with AWS_ or ECS_"),
    ("NaN threshold", {}, {"alarms": {"target_5xx": {"threshold": float("nan")}}}, "alarms.target_5xx.threshold", "nan",
     "a finite number, 0 or more"),
    ("infinite threshold", {}, {"alarms": {"latency_p99": {"threshold": float("inf")}}}, "alarms.latency_p99.threshold", "inf",
     "a finite number, 0 or more"),
    ("negative threshold", {}, {"alarms": {"healthy_hosts": {"threshold": -1}}}, "alarms.healthy_hosts.threshold", "-1.0",
     "a finite number, 0 or more"),
    ("VPC too small to carve", {}, {"network": {"vpc_cidr": "10.0.0.0/26"}}, "network.vpc_cidr", "'10.0.0.0/26'",
     "expected a /25 or larger"),
    ("VPC in a link-local range", {}, {"network": {"vpc_cidr": "169.254.0.0/16"}}, "network.vpc_cidr", "'169.254.0.0/16'",
     "link-local range"),
    ("VPC on loopback", {}, {"network": {"vpc_cidr": "127.0.0.0/16"}}, "network.vpc_cidr", "'127.0.0.0/16'", "loopback range"),
    ("off hours cron without ?", {}, {"services": {"scaling": {"off_hours": {"stop": "cron(0 20 * * MON-FRI *)",
     "start": "cron(0 7 ? * MON-FRI *)"}}}}, "services.scaling.off_hours.stop", "'cron(0 20 * * MON-FRI *)'", "one of the days ?"),
    ("off hours rate with a wrong unit", {}, {"services": {"scaling": {"off_hours": {"stop": "rate(1 hours)",
     "start": "rate(2 hours)"}}}}, "services.scaling.off_hours.stop", "'rate(1 hours)'", "rate(N units)"),
    ("off hours time zone", {}, {"services": {"scaling": {"off_hours": {"stop": "cron(0 20 ? * MON-FRI *)",
     "start": "cron(0 7 ? * MON-FRI *)", "timezone": "Europe/Berln"}}}}, "services.scaling.off_hours.timezone", "'Europe/Berln'",
     "did you mean 'Europe/Berlin'?"),
    ("canary schedule", {}, {"canary": {"schedule": "every 5 minutes"}}, "canary.schedule", "'every 5 minutes'", "rate(N units)"),
    ("off hours at hour 25", {}, {"services": {"scaling": {"off_hours": {"stop": "cron(0 25 ? * MON-FRI *)",
     "start": "cron(0 7 ? * MON-FRI *)"}}}}, "services.scaling.off_hours.stop", "'cron(0 25 ? * MON-FRI *)'", "(hours '25' is not 0-23)"),
    ("off hours on an unknown day", {}, {"services": {"scaling": {"off_hours": {"stop": "cron(0 19 ? * MON-FRX *)",
     "start": "cron(0 7 ? * MON-FRI *)"}}}}, "services.scaling.off_hours.stop", "'cron(0 19 ? * MON-FRX *)'",
     "(day-of-week 'MON-FRX' is not 1-7 or SUN-SAT)"),
    ("canary every 61st minute", {}, {"canary": {"schedule": "cron(61 * * * ? *)"}}, "canary.schedule", "'cron(61 * * * ? *)'",
     "(minutes '61' is not 0-59)"),
    ("a long value is quoted short", {"services": [{"name": "alpha", "route_path": "/a", "source_path": "x " * 2500}]}, {},
     "services[0].source_path", "... (5002 characters)", "a relative path"),
]  # fmt: skip


@pytest.mark.parametrize(
    "project, environment, key, shown, accepted", [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS]
)
def test_each_bad_input_is_one_line_naming_file_key_value_and_what_is_accepted(
    write_parameters, project, environment, key, shown, accepted
):
    directory = write_parameters(project, environment)
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.load(directory, "staging")
    problems = raised.value.problems
    assert len(problems) == 1, problems
    line = problems[0]
    filename = "project.yaml" if project else "staging.yaml"
    assert re.match(rf"^{re.escape(str(directory / filename))}: {re.escape(key)}: ", line), line
    assert shown in line and accepted in line, line
    assert "\n" not in line


def test_every_problem_is_reported_at_once(write_parameters):
    directory = write_parameters(
        {"services": [{"name": "alpha", "route_path": "/a", "cpu": 3}]},
        {"network": {"az_count": 5, "nat_mode": "x"}, "colour": "blue"},
    )
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.load(directory, "staging")
    keys = sorted(line.split(": ")[1] for line in raised.value.problems)
    assert keys == ["colour", "network.az_count", "network.nat_mode", "services[0].cpu"]


def test_unknown_target_lists_the_known_ones():
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.load(SAMPLE, "qa")
    assert "no such target 'qa'" in raised.value.problems[0]
    assert "dev, production, staging" in raised.value.problems[0]


def test_invalid_yaml_names_the_line(tmp_path):
    (tmp_path / "project.yaml").write_text("name: shop\nservices: [\n")
    (tmp_path / "staging.yaml").write_text("{}\n")
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.load(tmp_path, "staging")
    assert re.search(r"project\.yaml: line \d+: not valid YAML", raised.value.problems[0])


@pytest.mark.parametrize("az_count", [2, 3])
def test_carved_subnets_are_disjoint_and_inside_the_vpc(az_count):
    public, private = model.carve_subnets(model.Network(vpc_cidr="10.0.0.0/16", az_count=az_count))
    assert len(public) == len(private) == az_count
    assert len(set(public) | set(private)) == 2 * az_count


def test_a_protected_target_may_serve_plain_http_only_when_its_file_says_so(make_config):
    cfg = make_config(environment={"protected": True, "load_balancer": {"certificate_arn": "", "domain_name": "", "plain_http": True}})
    (warning,) = cfg.warnings
    assert warning.startswith("staging: load_balancer.plain_http is true") and "without TLS" in warning
    assert make_config().warnings == []


def test_derived_priorities_that_collide_are_one_line_asking_for_an_explicit_one(write_parameters, monkeypatch):
    monkeypatch.setattr(model, "derived_priority", lambda route: 4242)
    directory = write_parameters({"services": [{"name": "alpha", "route_path": "/a"}, {"name": "beta", "route_path": "/b"}]})
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.load(directory, "staging")
    (line,) = raised.value.problems
    assert "services[1].priority: 4242 (derived from route_path '/b') is already used by services[0]" in line


def test_a_target_named_bootstrap_is_reserved(write_parameters):
    """Its stack would be <project>-bootstrap: the assets bucket's stack, which a deploy would plan to replace."""
    directory = write_parameters()
    (directory / "bootstrap.yaml").write_text((directory / "staging.yaml").read_text())
    with pytest.raises(config_module.ConfigError) as raised:
        config_module.load(directory, "bootstrap")
    [line] = raised.value.problems
    assert "the target name 'bootstrap' is reserved: its stack would be 'shop-bootstrap'" in line


def test_the_task_sets_exactly_the_variables_a_secret_may_not_take(make_config):
    from templates.stacks.service import build

    cfg = make_config()
    (container,) = build(cfg, cfg.project.services[0]).to_dict()["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert [e["Name"] for e in container["Environment"]] == list(model.TASK_VARIABLES)
    assert [s["Name"] for s in container["Secrets"]] == [{"Ref": "SecretVariable"}, *model.SETTING_VARIABLES]


@pytest.mark.parametrize(
    "expression",
    # the EventBridge User Guide's own examples and the special values of its table (L, W, #, names, ranges, steps)
    ["cron(0 10 * * ? *)", "cron(15 12 * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0 8 1 * ? *)", "cron(0/15 * * * ? *)",
     "cron(0/10 * ? * MON-FRI *)", "cron(0/5 8-17 ? * MON-FRI *)", "cron(0 9 ? * 2#1 *)", "cron(0 8 L * ? *)",
     "cron(0 8 15W * ? *)", "cron(0 8 ? * 6L *)", "cron(0 8 1 JAN-MAR ? 2027)", "cron(0 18 ? * SUN,SAT *)", "rate(5 minutes)"],
)  # fmt: skip
def test_every_schedule_form_eventbridge_documents_is_accepted(expression):
    assert fields.SCHEDULE(expression) is None
