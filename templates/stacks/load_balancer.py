"""The environment's internet-facing ALB, its listeners and its access-log bucket.

Service stacks attach their path rules to the production listener and their
test rules to the test listener; both default to a fixed 404.
"""

from __future__ import annotations

from awacs.aws import Allow, Principal, Statement
from troposphere import Equals, FindInMap, GetAtt, If, Or, Output, Parameter, Ref, Sub, Template, ec2, route53
from troposphere import elasticloadbalancingv2 as elb

from templates import names
from templates.config.model import TLS_POLICY, Config
from templates.iam import policies
from templates.stacks.common import new_template, secure_bucket, skip_checks, tags

NOT_FOUND = elb.Action(
    Type="fixed-response",
    FixedResponseConfig=elb.FixedResponseConfig(StatusCode="404", ContentType="application/json", MessageBody='{"message": "not found"}'),
)
ACCESS_LOG_PREFIX = "alb"

# Regions opened before August 2022 deliver ALB access logs as their Elastic Load
# Balancing account, not as the log-delivery service principal (Elastic Load Balancing
# guide, "Enable access logs for your Application Load Balancer", step 2).  Data, kept
# in a Mapping; the policy names the account of the region the stack runs in.
LEGACY_LOG_DELIVERY_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}
LOG_DELIVERY_MAPPING = "LegacyLogDeliveryAccounts"
HAS_LEGACY_LOG_DELIVERY = "RegionHasLegacyLogDeliveryAccount"


def add_parameters(template: Template) -> dict[str, Parameter]:
    kinds = {
        names.VPC_ID: "AWS::EC2::VPC::Id",
        names.VPC_CIDR: "String",
        names.PUBLIC_SUBNET_IDS: "List<AWS::EC2::Subnet::Id>",
    }
    return {name: template.add_parameter(Parameter(name, Type=kind)) for name, kind in kinds.items()}


def https_enabled(config: Config) -> bool:
    return bool(config.environment.load_balancer.certificate_arn)


def public_base_url(config: Config) -> str:
    """Where users reach the environment: its domain_name if it has one, else the ALB's DNS name,
    written ``${Dns}`` for a Sub to fill in.  A certificate matches the domain, never the ALB's name."""
    settings = config.environment.load_balancer
    scheme = "https" if https_enabled(config) else "http"
    return f"{scheme}://{settings.domain_name or '${Dns}'}"


def with_dns_name(text: str, dns_name):
    """``text`` as a template value: a Sub filling ``${Dns}`` in, or the plain text when it has none."""
    return Sub(text, Dns=dns_name) if "${Dns}" in text else text


def certificate(config: Config) -> elb.Certificate:
    """The configured ACM certificate, used as written: the user's data, not the template's.  "Certificates in ACM
    are regional resources": a load balancer uses one of its own region (ACM User Guide, "Supported Regions":
    https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html); deploy.py refuses a certificate of another
    region than the one it deploys to, before anything changes."""
    return elb.Certificate(CertificateArn=config.environment.load_balancer.certificate_arn)


def add_security_group(template: Template, config: Config, params: dict[str, Parameter]) -> ec2.SecurityGroup:
    settings = config.environment.load_balancer
    public_ports = [80, 443] if https_enabled(config) else [80]
    ingress = [
        ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="0.0.0.0/0", Description=f"public traffic on {port}")
        for port in public_ports
    ]
    ingress.append(
        ec2.SecurityGroupRule(
            IpProtocol="tcp",
            FromPort=settings.test_listener_port,
            ToPort=settings.test_listener_port,
            CidrIp=Ref(params[names.VPC_CIDR]),
            # Clients reach an internet-facing ALB at its public addresses, never from a VPC
            # address, so this rule admits no one: ECS needs the listener, not its clients.
            Description="test listener: admits VPC addresses only, which no client of a public ALB has",
        )
    )
    group = ec2.SecurityGroup(
        "LoadBalancerSecurityGroup",
        GroupDescription=f"{config.stack_prefix} load balancer",
        VpcId=Ref(params[names.VPC_ID]),
        SecurityGroupIngress=ingress,
        # Only towards the tasks, which listen on unprivileged ports inside the VPC.
        SecurityGroupEgress=[
            ec2.SecurityGroupRule(
                IpProtocol="tcp", FromPort=1024, ToPort=65535, CidrIp=Ref(params[names.VPC_CIDR]), Description="to the tasks"
            )
        ],
        Tags=tags(config),
    )
    skip_checks(group, {"CKV_AWS_260": "a public web entry point: port 80 serves or redirects the internet's HTTP requests"})
    return template.add_resource(group)


def add_log_delivery_accounts(template: Template) -> None:
    """The mapping of legacy regions' ELB accounts and a condition: does this region have one?"""
    template.add_mapping(LOG_DELIVERY_MAPPING, {region: {"Account": account} for region, account in LEGACY_LOG_DELIVERY_ACCOUNTS.items()})
    regions = [Equals(Ref("AWS::Region"), region) for region in LEGACY_LOG_DELIVERY_ACCOUNTS]
    # Fn::Or takes 2 to 10 conditions: group them, then join the groups.
    groups = [Or(*regions[start : start + 10]) for start in range(0, len(regions), 10)]
    template.add_condition(HAS_LEGACY_LOG_DELIVERY, Or(*groups))


def log_delivery_statement(bucket_arn_title: str) -> Statement:
    """Who delivers the access logs may write under the prefix for this account only: the
    log-delivery service principal, and in regions opened before August 2022 the region's
    Elastic Load Balancing account instead (a principal the other regions leave out)."""
    legacy_account = If(
        HAS_LEGACY_LOG_DELIVERY,
        Sub("arn:${AWS::Partition}:iam::${Account}:root", Account=FindInMap(LOG_DELIVERY_MAPPING, Ref("AWS::Region"), "Account")),
        Ref("AWS::NoValue"),
    )
    principal = Principal("Service", ["logdelivery.elasticloadbalancing.amazonaws.com"])
    principal.data["AWS"] = legacy_account
    return Statement(
        Sid="LoadBalancerWritesAccessLogs",
        Effect=Allow,
        Principal=principal,
        Action=[policies.action("s3:PutObject")],
        Resource=[Sub(f"${{{bucket_arn_title}.Arn}}/{ACCESS_LOG_PREFIX}/AWSLogs/${{AWS::AccountId}}/*")],
    )


def add_access_log_bucket(template: Template, config: Config):
    add_log_delivery_accounts(template)
    # ALB access logs accept SSE-S3 only, so this bucket cannot use the KMS key.
    return secure_bucket(
        template,
        "AccessLogBucket",
        config,
        expiry_days=config.environment.load_balancer.access_log_expiry_days,
        extra_statements=(log_delivery_statement("AccessLogBucket"),),
    )


def add_load_balancer(template: Template, config: Config, params, security_group, log_bucket, log_policy_title) -> elb.LoadBalancer:
    settings = config.environment.load_balancer
    attributes = {
        "deletion_protection.enabled": str(settings.deletion_protection).lower(),
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "idle_timeout.timeout_seconds": str(settings.idle_timeout_seconds),
        "access_logs.s3.enabled": "true",
        "access_logs.s3.bucket": Ref(log_bucket),
        "access_logs.s3.prefix": ACCESS_LOG_PREFIX,
    }
    return template.add_resource(
        elb.LoadBalancer(
            "LoadBalancer",
            Type="application",
            Scheme="internet-facing",
            Subnets=Ref(params[names.PUBLIC_SUBNET_IDS]),
            SecurityGroups=[Ref(security_group)],
            LoadBalancerAttributes=[elb.LoadBalancerAttributes(Key=k, Value=v) for k, v in attributes.items()],
            # The bucket policy must exist before ELB checks it can write there.
            DependsOn=[log_policy_title],
            Tags=tags(config),
        )
    )


def add_listeners(template: Template, config: Config, load_balancer: elb.LoadBalancer) -> tuple[elb.Listener, elb.Listener]:
    """The production listener (HTTPS with a certificate, else HTTP) and the VPC-only test listener."""
    settings = config.environment.load_balancer
    if https_enabled(config):
        production = template.add_resource(
            elb.Listener(
                "HttpsListener",
                LoadBalancerArn=Ref(load_balancer),
                Port=443,
                Protocol="HTTPS",
                SslPolicy=TLS_POLICY,
                Certificates=[certificate(config)],
                DefaultActions=[NOT_FOUND],
                Tags=tags(config),
            )
        )
        redirect = elb.Action(
            Type="redirect",
            RedirectConfig=elb.RedirectConfig(Protocol="HTTPS", Port="443", StatusCode="HTTP_301"),
        )
        template.add_resource(
            elb.Listener(
                "HttpListener", LoadBalancerArn=Ref(load_balancer), Port=80, Protocol="HTTP", DefaultActions=[redirect], Tags=tags(config)
            )
        )
    else:
        production = elb.Listener(
            "HttpListener", LoadBalancerArn=Ref(load_balancer), Port=80, Protocol="HTTP", DefaultActions=[NOT_FOUND], Tags=tags(config)
        )
        reason = "no certificate_arn in this environment's file; setting one serves HTTPS and redirects HTTP"
        production = template.add_resource(skip_checks(production, {"CKV_AWS_2": reason, "CKV_AWS_103": reason}))
    test = elb.Listener(
        "TestListener",
        LoadBalancerArn=Ref(load_balancer),
        Port=settings.test_listener_port,
        Protocol="HTTP",
        DefaultActions=[NOT_FOUND],
        Tags=tags(config),
    )
    if https_enabled(config):
        # With a certificate the test listener serves HTTPS too: Control Tower's CT.ELASTICLOADBALANCING.PR.1
        # refuses any HTTP listener that does not redirect, and test traffic is forwarded, not redirected.
        test.Protocol = "HTTPS"
        test.SslPolicy = TLS_POLICY
        test.Certificates = [certificate(config)]
    else:
        reason = "carries ECS's test traffic to green tasks; its security group rule admits no client (see there)"
        skip_checks(test, {"CKV_AWS_2": reason, "CKV_AWS_103": reason})
    return production, template.add_resource(test)


def add_alias_record(template: Template, config: Config, load_balancer) -> None:
    """domain_name -> the ALB, as a Route 53 alias record, when the environment names a hosted zone."""
    settings = config.environment.load_balancer
    if not settings.hosted_zone_id:
        return
    template.add_resource(
        route53.RecordSetType(
            "DomainAliasRecord",
            HostedZoneId=settings.hosted_zone_id,
            Name=settings.domain_name,
            Type="A",
            AliasTarget=route53.AliasTarget(
                DNSName=GetAtt(load_balancer, "DNSName"),
                HostedZoneId=GetAtt(load_balancer, "CanonicalHostedZoneID"),
                EvaluateTargetHealth=False,
            ),
        )
    )


def add_outputs(template: Template, config: Config, load_balancer, security_group, production, test) -> None:
    outputs = {
        names.LOAD_BALANCER_ARN: Ref(load_balancer),
        names.LOAD_BALANCER_FULL_NAME: GetAtt(load_balancer, "LoadBalancerFullName"),
        names.LOAD_BALANCER_DNS_NAME: GetAtt(load_balancer, "DNSName"),
        names.LOAD_BALANCER_SECURITY_GROUP_ID: GetAtt(security_group, "GroupId"),
        names.PRODUCTION_LISTENER_ARN: Ref(production),
        names.TEST_LISTENER_ARN: Ref(test),
        names.PUBLIC_URL: with_dns_name(public_base_url(config), GetAtt(load_balancer, "DNSName")),
    }
    for name, value in outputs.items():
        template.add_output(Output(name, Value=value))


def build(config: Config) -> Template:
    template = new_template(f"{config.stack_prefix}: application load balancer, listeners and access logs")
    params = add_parameters(template)
    security_group = add_security_group(template, config, params)
    log_bucket = add_access_log_bucket(template, config)
    load_balancer = add_load_balancer(template, config, params, security_group, log_bucket, f"{log_bucket.title}Policy")
    production, test = add_listeners(template, config, load_balancer)
    add_alias_record(template, config, load_balancer)
    add_outputs(template, config, load_balancer, security_group, production, test)
    return template
