"""The network stack: subnets per AZ, NAT modes, endpoints and flow logs."""

from __future__ import annotations

import pytest

from templates import names
from templates.stacks import network
from tests.templates.helpers import props, refs, resources_of_type


def render(make_config, **network_settings) -> dict:
    return network.build(make_config(environment={"network": network_settings})).to_dict()


@pytest.mark.parametrize("az_count", [2, 3])
@pytest.mark.parametrize("nat_mode, nat_count", [("none", 0), ("single", 1), ("per-az", None)])
def test_subnets_and_nat_follow_the_configuration(make_config, az_count, nat_mode, nat_count):
    template = render(make_config, az_count=az_count, nat_mode=nat_mode)
    subnets = resources_of_type(template, "AWS::EC2::Subnet")
    assert len(subnets) == 2 * az_count
    azs = sorted(s["Properties"]["AvailabilityZone"]["Fn::Select"][0] for s in subnets.values())
    assert azs == sorted(list(range(az_count)) * 2)
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())
    gateways = resources_of_type(template, "AWS::EC2::NatGateway")
    assert len(gateways) == (az_count if nat_count is None else nat_count)
    assert all(refs(g["Properties"]["SubnetId"]) <= {f"PublicSubnet{i + 1}" for i in range(az_count)} for g in gateways.values())
    private_routes = {n: r for n, r in resources_of_type(template, "AWS::EC2::Route").items() if n.startswith("Private")}
    assert len(private_routes) == (0 if nat_mode == "none" else az_count)
    targets = {r["Properties"]["NatGatewayId"]["Ref"] for r in private_routes.values()}
    assert len(targets) == len(gateways)


def test_without_nat_private_subnets_have_no_default_route(make_config):
    template = render(make_config, nat_mode="none")
    for name, route in resources_of_type(template, "AWS::EC2::Route").items():
        assert refs(route["Properties"]["RouteTableId"]) == {"PublicRouteTable"}, name


@pytest.mark.parametrize("endpoint_az_count, expected_subnets", [(0, 3), (1, 1), (2, 2)])
def test_interface_endpoints_occupy_the_configured_azs(make_config, endpoint_az_count, expected_subnets):
    template = render(
        make_config, az_count=3, nat_mode="single", endpoint_az_count=endpoint_az_count, interface_endpoints=["ecr-api", "logs"]
    )
    endpoints = resources_of_type(template, "AWS::EC2::VPCEndpoint")
    interface = {n: e["Properties"] for n, e in endpoints.items() if e["Properties"]["VpcEndpointType"] == "Interface"}
    assert sorted(interface) == ["EcrApiEndpoint", "LogsEndpoint"]
    for endpoint in interface.values():
        assert len(endpoint["SubnetIds"]) == expected_subnets
        assert endpoint["PrivateDnsEnabled"] is True
        assert refs(endpoint["SubnetIds"]) <= {"PrivateSubnet1", "PrivateSubnet2", "PrivateSubnet3"}
    gateway = [e["Properties"] for e in endpoints.values() if e["Properties"]["VpcEndpointType"] == "Gateway"]
    assert len(gateway) == 1 and gateway[0]["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"}


def test_every_default_interface_endpoint_is_created(make_config):
    template = render(make_config, interface_endpoints=None)
    services = {
        e["Properties"]["ServiceName"]["Fn::Sub"].rsplit("}.", 1)[1] for e in resources_of_type(template, "AWS::EC2::VPCEndpoint").values()
    }
    assert services == {"s3", "ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "sts", "elasticloadbalancing", "ecs"}


def test_endpoint_security_group_admits_https_from_the_vpc_only(make_config):
    template = render(make_config, vpc_cidr="10.50.0.0/16")
    ingress = props(template, "EndpointSecurityGroup")["SecurityGroupIngress"]
    assert ingress == [{"CidrIp": "10.50.0.0/16", "Description": "HTTPS from the VPC", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}]


def test_no_interface_endpoints_means_no_endpoint_security_group(make_config):
    template = render(make_config, nat_mode="per-az", interface_endpoints=[])
    assert "EndpointSecurityGroup" not in template["Resources"]


@pytest.mark.parametrize("retention", [7, 90, 3653])
def test_flow_logs_use_the_environment_retention(make_config, retention):
    template = network.build(make_config(environment={"logs": {"retention_days": retention}})).to_dict()
    assert props(template, "FlowLogGroup")["RetentionInDays"] == retention
    assert props(template, "FlowLog")["TrafficType"] == "ALL"
    assert refs(props(template, "FlowLog")["DeliverLogsPermissionArn"]) == {"FlowLogRole"}


def test_encrypted_logs_take_the_environment_key_as_a_parameter(make_config):
    plain = network.build(make_config(environment={"logs": {"kms_encrypted": False}})).to_dict()
    encrypted = network.build(make_config(environment={"logs": {"kms_encrypted": True}})).to_dict()
    assert "KmsKeyId" not in props(plain, "FlowLogGroup") and names.ENVIRONMENT_KEY_ARN not in plain.get("Parameters", {})
    assert props(encrypted, "FlowLogGroup")["KmsKeyId"] == {"Ref": names.ENVIRONMENT_KEY_ARN}


def test_outputs_are_the_named_constants(make_config):
    template = render(make_config)
    assert set(template["Outputs"]) == {names.VPC_ID, names.VPC_CIDR, names.PUBLIC_SUBNET_IDS, names.PRIVATE_SUBNET_IDS}


def test_explicit_subnets_are_used_as_given(make_config):
    template = render(
        make_config, vpc_cidr="10.0.0.0/16", public_subnets=["10.0.0.0/24", "10.0.1.0/24"], private_subnets=["10.0.8.0/22", "10.0.12.0/22"]
    )
    assert props(template, "PrivateSubnet2")["CidrBlock"] == "10.0.12.0/22"
