"""The health-check function stack: one package, a hook in the VPC and a canary outside."""

from __future__ import annotations

import json

from templates import health_check, names
from tests.templates.helpers import props, refs


def test_both_functions_run_the_same_package(make_config):
    template = health_check.build(make_config()).to_dict()
    for function in ("HookFunction", "CanaryFunction"):
        properties = props(template, function)
        assert properties["Code"] == {"S3Bucket": {"Ref": names.ASSETS_BUCKET}, "S3Key": {"Ref": names.HEALTH_CHECK_CODE_KEY}}
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
    assert variables["METRICS_NAMESPACE"] == names.CANARY_METRICS_NAMESPACE


def test_the_canary_may_publish_metrics_only_in_its_namespace(make_config):
    template = health_check.build(make_config()).to_dict()
    statements = props(template, "CanaryRole")["Policies"][0]["PolicyDocument"]["Statement"]
    (metrics,) = [s for s in statements if s["Action"] == ["cloudwatch:PutMetricData"]]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": names.CANARY_METRICS_NAMESPACE}}
