"""Code in private subnets reaches every AWS API its role grants: an endpoint, or NAT, with HTTPS allowed out."""

from __future__ import annotations

from builder.preflight import reachability
from tests.builder.preflight_fixtures import allow, document, role, target

VPC_CIDR = "10.10.0.0/16"


def network(endpoints: list[str], nat: bool) -> dict:
    resources = {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": VPC_CIDR}}}
    for name in endpoints:
        resources[f"{name.title()}Endpoint"] = {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {"ServiceName": {"Fn::Sub": f"com.amazonaws.${{AWS::Region}}.{name}"}, "VpcEndpointType": "Interface"},
        }
    if nat:
        resources["Nat"] = {"Type": "AWS::EC2::NatGateway", "Properties": {}}
        resources["PrivateDefault"] = {
            "Type": "AWS::EC2::Route",
            "Properties": {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": {"Ref": "Nat"}},
        }
    return resources


def function_calling(actions: list[str], egress_cidr: str) -> dict:
    return {
        "FnRole": role([document(allow(actions, ["*"]), allow(["logs:PutLogEvents", "ec2:CreateNetworkInterface"], ["*"]))]),
        "FnGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": egress_cidr}]},
        },
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Role": {"Fn::GetAtt": ["FnRole", "Arn"]}, "VpcConfig": {"SecurityGroupIds": [{"Ref": "FnGroup"}]}},
        },
    }


def check(endpoints: list[str], nat: bool, egress_cidr: str, actions=("elasticloadbalancing:DescribeRules",)):
    return reachability.check(target({**network(endpoints, nat), **function_calling(list(actions), egress_cidr)}))


def test_an_endpoint_with_https_allowed_to_the_vpc_reaches_the_api():
    report = check(["elasticloadbalancing"], nat=False, egress_cidr=VPC_CIDR)
    assert report.findings == [] and report.checks == {reachability.RULE: 1}  # logs and ec2 are the Lambda service's own calls


def test_nat_with_https_allowed_out_reaches_the_api():
    assert check([], nat=True, egress_cidr="0.0.0.0/0").findings == []


def test_no_endpoint_and_no_nat_is_a_finding():
    report = check([], nat=False, egress_cidr="0.0.0.0/0")
    assert [f.value for f in report.findings] == ["calls elasticloadbalancing (elasticloadbalancing): no endpoint; no NAT"]


def test_nat_with_https_allowed_only_inside_the_vpc_is_a_finding():
    report = check([], nat=True, egress_cidr=VPC_CIDR)
    assert [f.value for f in report.findings] == [
        "calls elasticloadbalancing (elasticloadbalancing): no endpoint; NAT present, HTTPS out not allowed"
    ]


def test_ecr_needs_both_ecr_endpoints_and_s3_for_the_layers():
    report = check(["ecr.api"], nat=False, egress_cidr=VPC_CIDR, actions=["ecr:BatchGetImage"])
    assert sorted(f.value.split(" (")[1].split(")")[0] for f in report.findings) == ["ecr.dkr", "s3"]
