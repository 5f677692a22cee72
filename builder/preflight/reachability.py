"""Code in the private subnets reaches every AWS API it is granted: through a VPC endpoint, or through NAT.

Runs for the Lambda functions with a ``VpcConfig`` and the ECS services whose tasks get no public IP. What
they call is read from their roles (task role, execution role, function role): the service prefix of every
allowed action. Each service must be reachable from where the code runs: an interface endpoint for it (or
the S3 gateway endpoint) with the code's security group allowing HTTPS out to the VPC, or a NAT gateway with
the security group allowing HTTPS out to anywhere.

- Fargate pulls images and secrets and ships logs through the task's network interface, so the execution
  role's calls (ECR, S3 for image layers, Logs, Secrets Manager, SSM) count
  (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html).
- A VPC Lambda's logs are sent and its network interfaces managed by the Lambda service itself, not from the
  subnet (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html), so those prefixes do not count.
- With ``KmsKeyArn`` set, the Lambda service decrypts the function's environment variables with the role
  before the code runs (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html),
  so that ``kms`` grant does not count either.
- ``kms`` calls that Secrets Manager or SSM make on the caller's behalf (``kms:ViaService``) do not count.
"""

from __future__ import annotations

import ipaddress

from builder.preflight.model import Finding, Report, as_list
from builder.preflight.policies import allows, role_by_arn, role_statements
from builder.preflight.resolve import Target

RULE = "reachability"
HTTPS = 443
# IAM service prefix -> the endpoint service names a call to it needs.
ENDPOINTS = {
    "ecr": ("ecr.api", "ecr.dkr", "s3"),
    "cloudwatch": ("monitoring",),
    "elasticloadbalancing": ("elasticloadbalancing",),
}
# Prefixes a service calls for the code, outside the subnet.
CALLED_BY_THE_SERVICE = {"lambda": {"logs", "ec2", "xray"}}
GATEWAY_SERVICES = {"s3", "dynamodb"}


def _prefixes(target: Target, role_arn) -> set[str]:
    role = role_by_arn(target, role_arn) if role_arn else None
    if role is None:
        return set()
    prefixes = set()
    for statement in role_statements(target, *role):
        if "kms:ViaService" in str(statement.get("Condition", {})):
            continue
        prefixes |= {a.split(":", 1)[0] for a in allows(statement)}
    return prefixes


def callers(target: Target):
    """(template, logical id, platform, called service prefixes, security group ids) for code in private subnets."""
    for stack, logical_id, _ in target.resources("AWS::Lambda::Function"):
        properties = stack.properties(logical_id)
        if "VpcConfig" in properties:
            by_service = CALLED_BY_THE_SERVICE["lambda"] | ({"kms"} if properties.get("KmsKeyArn") else set())
            prefixes = _prefixes(target, properties.get("Role")) - by_service
            yield stack.file, logical_id, prefixes, as_list(properties["VpcConfig"].get("SecurityGroupIds"))
    for stack, logical_id, _ in target.resources("AWS::ECS::Service"):
        properties = stack.properties(logical_id)
        network = properties.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
        if network and network.get("AssignPublicIp") != "ENABLED":
            task = _task_definition(target, properties.get("TaskDefinition"))
            prefixes = set()
            for key in ("TaskRoleArn", "ExecutionRoleArn"):
                prefixes |= _prefixes(target, task.get(key))
            yield stack.file, logical_id, prefixes, as_list(network.get("SecurityGroups"))


def _task_definition(target: Target, ref) -> dict:
    for stack, logical_id, _ in target.resources("AWS::ECS::TaskDefinition"):
        if stack.physical_id(logical_id) == ref:
            return stack.properties(logical_id)
    return {}


def _security_groups(target: Target) -> dict[str, dict]:
    return {stack.physical_id(lid): stack.properties(lid) for stack, lid, _ in target.resources("AWS::EC2::SecurityGroup")}


def _https_out(groups: list[dict], to: str) -> bool:
    """True when some egress rule of the groups allows TCP 443 to every address of ``to`` (a CIDR)."""
    wanted = ipaddress.ip_network(to)
    for group in groups:
        for rule in group.get("SecurityGroupEgress", [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]):
            protocol = str(rule.get("IpProtocol"))
            ports = protocol == "-1" or (
                protocol in ("tcp", "6") and int(rule.get("FromPort", 0)) <= HTTPS <= int(rule.get("ToPort", 65535))
            )
            cidr = rule.get("CidrIp")
            if ports and cidr and wanted.subnet_of(ipaddress.ip_network(cidr)):
                return True
    return False


def _network(target: Target) -> tuple[set[str], bool, str]:
    """(endpoint service names, NAT present, VPC CIDR)."""
    endpoints, cidr = set(), "10.0.0.0/8"
    for stack, logical_id, _ in target.resources("AWS::EC2::VPCEndpoint"):
        endpoints.add(str(stack.properties(logical_id)["ServiceName"]).split(f".{target.pseudo.region}.", 1)[-1])
    for stack, logical_id, _ in target.resources("AWS::EC2::VPC"):
        cidr = stack.properties(logical_id).get("CidrBlock", cidr)
    nat = any(
        "NatGatewayId" in stack.properties(lid) and stack.properties(lid).get("DestinationCidrBlock") == "0.0.0.0/0"
        for stack, lid, _ in target.resources("AWS::EC2::Route")
    )
    return endpoints, nat, cidr


def check(target: Target) -> Report:
    report = Report()
    endpoints, nat, cidr = _network(target)
    groups_by_id = _security_groups(target)
    for file, logical_id, prefixes, group_ids in callers(target):
        groups = [groups_by_id[g] for g in group_ids if g in groups_by_id]
        to_endpoints, to_internet = _https_out(groups, cidr), _https_out(groups, "0.0.0.0/0")
        for prefix in sorted(prefixes):
            for service in ENDPOINTS.get(prefix, (prefix,)):
                via_endpoint = service in endpoints and (to_internet if service in GATEWAY_SERVICES else to_endpoints)
                via_nat = nat and to_internet
                report.check(
                    RULE,
                    via_endpoint or via_nat,
                    Finding(
                        target.name,
                        file,
                        logical_id,
                        RULE,
                        f"calls {prefix} ({service}): " + _why(service in endpoints, to_endpoints, nat, to_internet),
                        "an endpoint for the service with HTTPS allowed out to it, or NAT with HTTPS allowed out",
                    ),
                )
    return report


def _why(endpoint: bool, to_endpoints: bool, nat: bool, to_internet: bool) -> str:
    parts = ["no endpoint" if not endpoint else ("endpoint present" + ("" if to_endpoints else ", HTTPS to it not allowed"))]
    parts.append("no NAT" if not nat else ("NAT present" + ("" if to_internet else ", HTTPS out not allowed")))
    return "; ".join(parts)
