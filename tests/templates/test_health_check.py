"""The health-check function stack: one package, a hook in the VPC and a canary outside."""

from __future__ import annotations

import json

import pytest

from templates import names
from templates.config.reader import ConfigError
from templates.stacks import health_check
from tests.templates.helpers import props, refs

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"


def test_both_functions_run_the_same_package(make_config):
    template = health_check.build(make_config()).to_dict()
    for function in ("HookFunction", "CanaryFunction"):
        properties = props(template, function)
        assert properties["Code"] == {
            "S3Bucket": {"Ref": names.ASSETS_BUCKET},
            "S3Key": {"Ref": names.HEALTH_CHECK_CODE_KEY},
            "S3ObjectVersion": {"Ref": names.code_version_parameter(names.HEALTH_CHECK_CODE_KEY)},  # the object deploy.py uploaded
        }
        assert properties["Handler"] == names.HEALTH_CHECK_HANDLER
        assert refs(properties["LoggingConfig"]) == {function.replace("Function", "LogGroup")}


def test_the_hook_runs_in_the_private_subnets_and_the_canary_outside(make_config):
    template = health_check.build(make_config()).to_dict()
    vpc = props(template, "HookFunction")["VpcConfig"]
    assert vpc == {"SecurityGroupIds": [{"Ref": "HookSecurityGroup"}], "SubnetIds": {"Ref": names.PRIVATE_SUBNET_IDS}}
    assert "VpcConfig" not in props(template, "CanaryFunction")


def test_the_hook_security_group_reaches_only_container_ports_and_https_in_the_vpc(make_config):
    services = [
        {"name": "one", "route_path": "/one", "container_port": 8080},
        {"name": "two", "route_path": "/two", "container_port": 9000},
    ]
    template = health_check.build(make_config(project={"services": services})).to_dict()
    egress = props(template, "HookSecurityGroup")["SecurityGroupEgress"]
    assert sorted(rule["FromPort"] for rule in egress) == [443, 8080, 9000]
    assert all(rule["CidrIp"] == {"Ref": names.VPC_CIDR} for rule in egress)


def test_the_canary_checks_every_service_public_health_url(make_config):
    cfg = make_config()
    variables = props(health_check.build(cfg).to_dict(), "CanaryFunction")["Environment"]["Variables"]
    text, substitutions = variables["CANARY_ENDPOINTS"]["Fn::Sub"]
    assert substitutions == {"Dns": {"Ref": names.LOAD_BALANCER_DNS_NAME}}
    endpoints = json.loads(text.replace("${Dns}", "alb.example"))["endpoints"]
    assert endpoints == [{"service": s.name, "url": f"http://alb.example{s.route_path}{s.health_check_path}"} for s in cfg.project.services]
    assert variables["METRICS_NAMESPACE"] == f"{cfg.project.name}/{cfg.target}/HealthCheck"


def test_the_canary_may_publish_metrics_only_in_its_namespace(make_config):
    cfg = make_config()
    template = health_check.build(cfg).to_dict()
    statements = props(template, "CanaryRole")["Policies"][0]["PolicyDocument"]["Statement"]
    (metrics,) = [s for s in statements if s["Action"] == ["cloudwatch:PutMetricData"]]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": names.canary_metrics_namespace("shop", cfg.target)}}


def test_the_canary_calls_the_domain_when_the_environment_has_one(make_config):
    """A certificate matches the user's domain, never the ALB's own DNS name."""
    cfg = make_config(environment={"load_balancer": {"domain_name": "staging.shop.example", "certificate_arn": CERTIFICATE}})
    template = health_check.build(cfg).to_dict()
    endpoints = json.loads(props(template, "CanaryFunction")["Environment"]["Variables"]["CANARY_ENDPOINTS"])["endpoints"]
    expected = [f"https://staging.shop.example{s.route_path}{s.health_check_path}" for s in cfg.project.services]
    assert [e["url"] for e in endpoints] == expected
    assert names.LOAD_BALANCER_DNS_NAME not in template["Parameters"]


def test_each_target_publishes_its_canary_metrics_in_its_own_namespace(make_config):
    namespaces = {
        target: props(health_check.build(make_config(target=target)).to_dict(), "CanaryFunction")["Environment"]["Variables"][
            "METRICS_NAMESPACE"
        ]
        for target in ("dev", "staging", "production")
    }
    assert len(set(namespaces.values())) == 3
    assert all(target in namespace for target, namespace in namespaces.items())


def test_the_hook_may_read_only_its_own_environments_services(make_config):
    cfg = make_config()
    statements = props(health_check.build(cfg).to_dict(), "HookRole")["Policies"][0]["PolicyDocument"]["Statement"]
    (describe,) = [s for s in statements if s["Action"] == ["ecs:DescribeServices"]]
    assert describe["Resource"] == [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:service/{cfg.stack_prefix}/*"}
    ]


@pytest.mark.parametrize(
    "network, reaches_apis_at",
    [
        ({"nat_mode": "none"}, "vpc"),  # every API the hook calls has an endpoint (the loader insists)
        ({"nat_mode": "single", "interface_endpoints": ["ecr-api", "ecr-dkr", "logs"]}, "internet"),
        ({"nat_mode": "per-az", "interface_endpoints": ["elasticloadbalancing"]}, "internet"),  # ecs has none
        ({"nat_mode": "single", "interface_endpoints": ["elasticloadbalancing", "ecs"]}, "vpc"),
    ],
)
def test_the_hook_reaches_its_apis_in_every_accepted_network(make_config, network, reaches_apis_at):
    template = health_check.build(make_config(environment={"network": network})).to_dict()
    (https,) = [rule for rule in props(template, "HookSecurityGroup")["SecurityGroupEgress"] if rule["FromPort"] == 443]
    assert https["CidrIp"] == ({"Ref": names.VPC_CIDR} if reaches_apis_at == "vpc" else "0.0.0.0/0")


def test_a_network_where_the_hook_cannot_reach_its_apis_is_refused(make_config):
    endpoints = ["ecr-api", "ecr-dkr", "logs", "secretsmanager", "ssm", "elasticloadbalancing"]  # no ecs, no NAT
    with pytest.raises(ConfigError) as refused:
        make_config(environment={"network": {"nat_mode": "none", "interface_endpoints": endpoints}})
    (problem,) = refused.value.problems
    assert "network.interface_endpoints: lacks ecs" in problem and "blue/green hook" in problem
