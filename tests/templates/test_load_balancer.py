"""The load balancer stack: listeners, redirect, test listener, access logs."""

from __future__ import annotations

import pytest

from templates import names
from templates.config.model import TLS_POLICY
from templates.stacks import load_balancer
from tests.templates.helpers import props, resources_of_type

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f2e1d3c-aaaa-bbbb-cccc-123456789abc"


def render(make_config, **settings) -> dict:
    return load_balancer.build(make_config(environment={"load_balancer": settings})).to_dict()


def attributes(template: dict) -> dict:
    return {a["Key"]: a["Value"] for a in props(template, "LoadBalancer")["LoadBalancerAttributes"]}


def listeners_by_port(template: dict) -> dict[int, dict]:
    return {r["Properties"]["Port"]: r["Properties"] for r in resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values()}


def test_http_only_without_a_certificate(make_config):
    template = render(make_config, certificate_arn="")
    listeners = listeners_by_port(template)
    assert sorted(listeners) == [80, 8080]
    assert listeners[80]["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    assert template["Outputs"][names.PRODUCTION_LISTENER_ARN]["Value"] == {"Ref": "HttpListener"}
    ports = [rule["FromPort"] for rule in props(template, "LoadBalancerSecurityGroup")["SecurityGroupIngress"]]
    assert ports == [80, 8080]


def test_https_with_a_certificate_and_http_redirects(make_config):
    template = render(make_config, certificate_arn=CERTIFICATE, domain_name="shop.example.org")
    listeners = listeners_by_port(template)
    assert sorted(listeners) == [80, 443, 8080]
    assert listeners[443]["SslPolicy"] == TLS_POLICY
    arn = CERTIFICATE  # as written: rebuilt with the stack's region, a certificate of another would be looked for there
    assert listeners[443]["Certificates"] == [{"CertificateArn": arn}]
    assert listeners[8080]["Protocol"] == "HTTPS" and listeners[8080]["Certificates"] == [{"CertificateArn": arn}]
    assert listeners[443]["DefaultActions"][0]["Type"] == "fixed-response"
    redirect = listeners[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert template["Outputs"][names.PRODUCTION_LISTENER_ARN]["Value"] == {"Ref": "HttpsListener"}
    assert template["Outputs"][names.PUBLIC_URL]["Value"] == "https://shop.example.org"


@pytest.mark.parametrize("port", [8080, 9443])
def test_test_listener_admits_no_client(make_config, port):
    """Clients reach an internet-facing ALB at public addresses: a rule for the VPC's range admits none."""
    template = render(make_config, test_listener_port=port)
    assert listeners_by_port(template)[port]["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    rule = [r for r in props(template, "LoadBalancerSecurityGroup")["SecurityGroupIngress"] if r["FromPort"] == port]
    assert rule == [
        {
            "CidrIp": {"Ref": names.VPC_CIDR},
            "Description": "test listener: admits VPC addresses only, which no client of a public ALB has",
            "FromPort": port,
            "IpProtocol": "tcp",
            "ToPort": port,
        }
    ]
    assert template["Outputs"][names.TEST_LISTENER_ARN]["Value"] == {"Ref": "TestListener"}


@pytest.mark.parametrize("protection", [True, False])
def test_deletion_protection_follows_the_environment(make_config, protection):
    assert attributes(render(make_config, deletion_protection=protection))["deletion_protection.enabled"] == str(protection).lower()


def test_invalid_headers_are_dropped_and_access_logs_are_on(make_config):
    attrs = attributes(render(make_config))
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attrs["access_logs.s3.enabled"] == "true"
    assert attrs["access_logs.s3.bucket"] == {"Ref": "AccessLogBucket"}


def test_access_log_bucket_is_encrypted_private_tls_only_and_expires(make_config):
    template = render(make_config, access_log_expiry_days=45)
    bucket = props(template, "AccessLogBucket")
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "AES256"}  # the only encryption ALB log delivery accepts
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 45
    assert template["Resources"]["AccessLogBucket"]["DeletionPolicy"] == "Retain"
    statements = props(template, "AccessLogBucketPolicy")["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "AccessLogBucketPolicy" in template["Resources"]["LoadBalancer"]["DependsOn"]


def test_alb_is_internet_facing_in_public_subnets(make_config):
    template = render(make_config)
    alb = props(template, "LoadBalancer")
    assert alb["Scheme"] == "internet-facing" and alb["Subnets"] == {"Ref": names.PUBLIC_SUBNET_IDS}


# --- domains -----------------------------------------------------------------------------


def test_public_url_is_the_alb_dns_name_without_a_domain(make_config):
    template = render(make_config)
    dns_name = {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}
    assert template["Outputs"][names.PUBLIC_URL]["Value"] == {"Fn::Sub": ["http://${Dns}", {"Dns": dns_name}]}
    assert not resources_of_type(template, "AWS::Route53::RecordSet")


def test_public_url_is_the_domain_and_a_hosted_zone_gets_the_alias(make_config):
    template = render(make_config, certificate_arn=CERTIFICATE, domain_name="shop.example.org", hosted_zone_id="Z0123456789ABCDEFGHIJ")
    assert template["Outputs"][names.PUBLIC_URL]["Value"] == "https://shop.example.org"
    (record,) = resources_of_type(template, "AWS::Route53::RecordSet").values()
    assert record["Properties"] == {
        "HostedZoneId": "Z0123456789ABCDEFGHIJ",
        "Name": "shop.example.org",
        "Type": "A",
        "AliasTarget": {
            "DNSName": {"Fn::GetAtt": ["LoadBalancer", "DNSName"]},
            "HostedZoneId": {"Fn::GetAtt": ["LoadBalancer", "CanonicalHostedZoneID"]},
            "EvaluateTargetHealth": False,
        },
    }


# --- access logs in every commercial region ------------------------------------------------


def test_access_logs_admit_the_regions_elb_account_where_one_exists(make_config):
    template = render(make_config)
    mapping = template["Mappings"][load_balancer.LOG_DELIVERY_MAPPING]
    assert mapping["us-east-1"] == {"Account": "127311923021"} and mapping["eu-west-1"] == {"Account": "156460612806"}
    assert len(mapping) == len(load_balancer.LEGACY_LOG_DELIVERY_ACCOUNTS) == 22
    regions = set()
    for group in template["Conditions"][load_balancer.HAS_LEGACY_LOG_DELIVERY]["Fn::Or"]:
        assert 2 <= len(group["Fn::Or"]) <= 10  # what Fn::Or accepts
        regions |= {equals["Fn::Equals"][1] for equals in group["Fn::Or"]}
    assert regions == set(mapping)
    statements = props(template, "AccessLogBucketPolicy")["PolicyDocument"]["Statement"]
    (delivery,) = [s for s in statements if s.get("Sid") == "LoadBalancerWritesAccessLogs"]
    assert delivery["Principal"]["Service"] == ["logdelivery.elasticloadbalancing.amazonaws.com"]
    assert delivery["Principal"]["AWS"] == {
        "Fn::If": [
            load_balancer.HAS_LEGACY_LOG_DELIVERY,
            {
                "Fn::Sub": [
                    "arn:${AWS::Partition}:iam::${Account}:root",
                    {"Account": {"Fn::FindInMap": [load_balancer.LOG_DELIVERY_MAPPING, {"Ref": "AWS::Region"}, "Account"]}},
                ]
            },
            {"Ref": "AWS::NoValue"},
        ]
    }
