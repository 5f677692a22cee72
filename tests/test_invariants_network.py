"""Invariants of who can reach what, on every environment under test (see tests/test_invariants.py): the
listeners and their TLS, every security group's ingress and egress, and what is public (subnets, the load
balancer, the tasks, the functions).  Expected values come from the configuration being checked.
"""

from __future__ import annotations

import json

from templates import names
from templates.config.model import HOOK_APIS, TLS_POLICY, carve_subnets
from tests.templates.helpers import deployed_services, every, only, output_target, resources_of_type, target_of

ANYWHERE = ("0.0.0.0/0", "::/0")
LOAD_BALANCER = names.template_file("load-balancer")
HEALTH_CHECK = names.template_file("health-check")
NETWORK = names.template_file("network")
# Container ports are unprivileged (project.yaml accepts 1024 to 65535): the load balancer reaches nothing below.
UNPRIVILEGED = (1024, 65535)


def https(config) -> bool:
    return bool(config.environment.load_balancer.certificate_arn)


def public_ports(config) -> list[int]:
    return [80, 443] if https(config) else [80]


def rule(protocol: str, from_port, to_port, source) -> tuple:
    return protocol, from_port, to_port, json.dumps(source, sort_keys=True)


def rules(entries: list[dict] | None, direction: str) -> list[tuple]:
    """A security group's rules as (protocol, from, to, peer), sorted; every rule names exactly one peer."""
    peers = ("CidrIp", "CidrIpv6", "SourcePrefixListId", "DestinationPrefixListId") + (
        ("SourceSecurityGroupId",) if direction == "ingress" else ("DestinationSecurityGroupId",)
    )
    found = []
    for entry in entries or []:
        (peer,) = [entry[key] for key in peers if key in entry]
        found.append(rule(entry["IpProtocol"], entry.get("FromPort"), entry.get("ToPort"), peer))
    return sorted(found)


def sg_of(template: dict, value) -> tuple[str, dict]:
    logical_id = target_of(value)
    assert template["Resources"][logical_id]["Type"] == "AWS::EC2::SecurityGroup", logical_id
    return logical_id, template["Resources"][logical_id]["Properties"]


# --- listeners and TLS ----------------------------------------------------------------------------


def test_https_listeners_use_the_tls_policy_and_http_only_redirects_when_there_is_a_certificate(configured_environment):
    cfg = configured_environment.config
    template = configured_environment.rendered[LOAD_BALANCER]
    settings = cfg.environment.load_balancer
    listeners = resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
    by_port = {listener["Properties"]["Port"]: (logical_id, listener["Properties"]) for logical_id, listener in listeners.items()}
    assert sorted(by_port) == sorted([*public_ports(cfg), settings.test_listener_port]), f"{LOAD_BALANCER}: listener ports"
    for logical_id, listener in by_port.values():
        where = f"{LOAD_BALANCER}: {logical_id}"
        assert listener["LoadBalancerArn"] == {"Ref": only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer", where)[0]}, where
        if listener["Protocol"] == "HTTPS":
            assert https(cfg), f"{where}: HTTPS without a certificate_arn"
            assert listener["SslPolicy"] == TLS_POLICY, where
            # the ARN exactly as written: its account and region are the certificate's, not the stack's
            assert listener["Certificates"] == [{"CertificateArn": cfg.environment.load_balancer.certificate_arn}], where
        else:
            assert listener["Protocol"] == "HTTP" and "SslPolicy" not in listener and "Certificates" not in listener, where
    production_id, production = by_port[443 if https(cfg) else 80]
    assert output_target(template, names.PRODUCTION_LISTENER_ARN) == production_id, f"{LOAD_BALANCER}: {production_id}"
    assert production["Protocol"] == ("HTTPS" if https(cfg) else "HTTP"), f"{LOAD_BALANCER}: {production_id}"
    test_id, test = by_port[settings.test_listener_port]
    assert output_target(template, names.TEST_LISTENER_ARN) == test_id, f"{LOAD_BALANCER}: {test_id}"
    assert test["Protocol"] == ("HTTPS" if https(cfg) else "HTTP"), f"{LOAD_BALANCER}: {test_id}"
    not_found = {"StatusCode": "404", "ContentType": "application/json", "MessageBody": '{"message": "not found"}'}
    for logical_id, listener in (by_port[443 if https(cfg) else 80], by_port[settings.test_listener_port]):
        default = [{"Type": "fixed-response", "FixedResponseConfig": not_found}]
        assert listener["DefaultActions"] == default, f"{LOAD_BALANCER}: {logical_id}"
    if https(cfg):
        http_id, http = by_port[80]
        redirect = {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
        assert http["Protocol"] == "HTTP" and http["DefaultActions"] == [redirect], f"{LOAD_BALANCER}: {http_id} must redirect to HTTPS"
    else:
        assert not any(p["Protocol"] == "HTTPS" for _, p in by_port.values()), f"{LOAD_BALANCER}: plain HTTP only without a certificate"


# --- security groups --------------------------------------------------------------------------------


def test_the_load_balancer_admits_the_world_on_its_public_ports_and_the_test_port_from_the_vpc_only(configured_environment):
    cfg = configured_environment.config
    template = configured_environment.rendered[LOAD_BALANCER]
    _, alb = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer", LOAD_BALANCER)
    (group,) = alb["SecurityGroups"]
    logical_id, properties = sg_of(template, group)
    where = f"{LOAD_BALANCER}: {logical_id}"
    assert output_target(template, names.LOAD_BALANCER_SECURITY_GROUP_ID) == logical_id, where
    test_port = cfg.environment.load_balancer.test_listener_port
    expected = [rule("tcp", port, port, "0.0.0.0/0") for port in public_ports(cfg)]
    expected.append(rule("tcp", test_port, test_port, {"Ref": names.VPC_CIDR}))
    assert rules(properties["SecurityGroupIngress"], "ingress") == sorted(expected), where
    assert rules(properties["SecurityGroupEgress"], "egress") == [rule("tcp", *UNPRIVILEGED, {"Ref": names.VPC_CIDR})], where
    for service in cfg.project.services:
        assert UNPRIVILEGED[0] <= service.container_port <= UNPRIVILEGED[1], f"{where}: reaches {service.name}'s port"


def test_each_task_admits_only_the_load_balancer_and_the_hook_on_its_port_and_sends_only_https(configured_environment):
    for service, file, template in deployed_services(configured_environment):
        _, ecs_service = only(template, "AWS::ECS::Service", file)
        (group,) = ecs_service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
        logical_id, properties = sg_of(template, group)
        where = f"{file}: {logical_id}"
        port = service.container_port
        sources = (names.LOAD_BALANCER_SECURITY_GROUP_ID, names.HOOK_SECURITY_GROUP_ID)
        assert rules(properties["SecurityGroupIngress"], "ingress") == sorted(rule("tcp", port, port, {"Ref": s}) for s in sources), where
        # HTTPS to AWS APIs: through the VPC endpoints, or NAT where the environment has it.
        assert rules(properties["SecurityGroupEgress"], "egress") == [rule("tcp", 443, 443, "0.0.0.0/0")], where


def test_the_services_are_admitted_from_the_load_balancers_and_the_hooks_own_groups(configured_environment):
    """The groups a task admits are the ALB's and the hook's, as the root passes them from the stacks that own them."""
    rendered = configured_environment.rendered
    root = rendered[names.ROOT_TEMPLATE]
    passed = {names.LOAD_BALANCER_SECURITY_GROUP_ID: "LoadBalancerStack", names.HOOK_SECURITY_GROUP_ID: "HealthCheckStack"}
    for title, stack in root["Resources"].items():
        parameters = stack["Properties"].get("Parameters", {})
        for name, producer in passed.items():
            if name in parameters:
                assert parameters[name] == {"Fn::GetAtt": [producer, f"Outputs.{name}"]}, f"{names.ROOT_TEMPLATE}: {title}"
    health_check = rendered[HEALTH_CHECK]
    hook = health_check["Resources"][output_target(health_check, names.HOOK_FUNCTION_ARN)]["Properties"]
    assert hook["VpcConfig"]["SecurityGroupIds"] == [{"Ref": output_target(health_check, names.HOOK_SECURITY_GROUP_ID)}], HEALTH_CHECK


def test_the_hook_reaches_the_container_ports_in_the_vpc_and_https_as_the_network_allows(configured_environment):
    cfg = configured_environment.config
    template = configured_environment.rendered[HEALTH_CHECK]
    logical_id, properties = sg_of(template, template["Outputs"][names.HOOK_SECURITY_GROUP_ID]["Value"])
    where = f"{HEALTH_CHECK}: {logical_id}"
    assert not properties.get("SecurityGroupIngress"), f"{where}: nothing calls the hook over the network"
    vpc = {"Ref": names.VPC_CIDR}
    expected = [rule("tcp", port, port, vpc) for port in {s.container_port for s in cfg.project.services}]
    # Through the VPC's endpoints when every API it calls has one, else through NAT.
    through_endpoints = all(api in cfg.environment.network.interface_endpoints for api in HOOK_APIS)
    expected.append(rule("tcp", 443, 443, vpc if through_endpoints else "0.0.0.0/0"))
    assert rules(properties["SecurityGroupEgress"], "egress") == sorted(expected), where


def test_the_interface_endpoints_admit_https_from_the_vpc_only(configured_environment):
    network = configured_environment.config.environment.network
    template = configured_environment.rendered[NETWORK]
    endpoints = {
        logical_id: e["Properties"]
        for logical_id, e in resources_of_type(template, "AWS::EC2::VPCEndpoint").items()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    }
    assert len(endpoints) == len(network.interface_endpoints), NETWORK
    groups = set()
    for logical_id, endpoint in endpoints.items():
        assert endpoint["PrivateDnsEnabled"] is True, f"{NETWORK}: {logical_id}"
        (group,) = endpoint["SecurityGroupIds"]
        groups.add(target_of(group))
    for logical_id in groups:
        _, properties = sg_of(template, {"Ref": logical_id})
        where = f"{NETWORK}: {logical_id}"
        assert rules(properties["SecurityGroupIngress"], "ingress") == [rule("tcp", 443, 443, network.vpc_cidr)], where
        assert rules(properties["SecurityGroupEgress"], "egress") == [rule("tcp", 443, 443, network.vpc_cidr)], where
    assert len(groups) == (1 if endpoints else 0), NETWORK


def test_no_security_group_admits_the_world_but_the_load_balancer_on_its_public_ports(configured_environment):
    """And every group states its egress: a group without any allows all outbound traffic."""
    cfg = configured_environment.config
    deployed = configured_environment.deployed
    assert not list(every(deployed, "AWS::EC2::SecurityGroupIngress")) and not list(every(deployed, "AWS::EC2::SecurityGroupEgress"))
    groups = list(every(deployed, "AWS::EC2::SecurityGroup"))
    endpoint_groups = 1 if cfg.environment.network.interface_endpoints else 0
    assert len(groups) == 2 + endpoint_groups + len(cfg.project.services), "ALB, hook, endpoints, one per service"
    load_balancer = output_target(deployed[LOAD_BALANCER], names.LOAD_BALANCER_SECURITY_GROUP_ID)
    (vpc,) = resources_of_type(deployed[NETWORK], "AWS::EC2::VPC")
    for where, _, group in groups:
        properties = group["Properties"]
        in_vpc = {"Ref": vpc} if where.startswith(f"{NETWORK}: ") else {"Ref": names.VPC_ID}
        assert properties["VpcId"] == in_vpc, f"{where}: in the environment's VPC, never the account's default one"
        assert properties.get("SecurityGroupEgress"), f"{where}: no egress rule means all egress"
        for protocol, from_port, to_port, peer in rules(properties.get("SecurityGroupIngress"), "ingress"):
            assert protocol == "tcp" and from_port == to_port, f"{where}: one TCP port per rule"
            if json.loads(peer) in ANYWHERE:
                assert where == f"{LOAD_BALANCER}: {load_balancer}" and from_port in public_ports(cfg), f"{where}: open to the world"
        for protocol, from_port, to_port, _ in rules(properties["SecurityGroupEgress"], "egress"):
            assert protocol == "tcp" and from_port is not None and to_port is not None, f"{where}: egress names TCP ports"


def test_the_root_tells_the_public_url_and_each_services_url(configured_environment):
    cfg = configured_environment.config
    root = configured_environment.rendered[names.ROOT_TEMPLATE]
    balancer = configured_environment.rendered[LOAD_BALANCER]
    settings = cfg.environment.load_balancer
    base = ("https" if settings.certificate_arn else "http") + "://" + (settings.domain_name or "${Dns}")
    url = balancer["Outputs"][names.PUBLIC_URL]["Value"]
    assert (url if isinstance(url, str) else url["Fn::Sub"][0]) == base, f"{LOAD_BALANCER}: {names.PUBLIC_URL}"
    public = {"Fn::GetAtt": ["LoadBalancerStack", f"Outputs.{names.PUBLIC_URL}"]}
    assert root["Outputs"][names.PUBLIC_URL]["Value"] == public, names.ROOT_TEMPLATE
    for service in cfg.project.services:
        output = root["Outputs"][f"{service.logical_name}Url"]["Value"]
        assert output == {"Fn::Sub": [f"${{Url}}{service.route_path}", {"Url": public}]}, f"{names.ROOT_TEMPLATE}: {service.name}"


# --- what is public -----------------------------------------------------------------------------------


def test_the_load_balancer_is_internet_facing_in_the_public_subnets_with_the_files_settings(configured_environment):
    settings = configured_environment.config.environment.load_balancer
    template = configured_environment.rendered[LOAD_BALANCER]
    logical_id, alb = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer", LOAD_BALANCER)
    where = f"{LOAD_BALANCER}: {logical_id}"
    # No setting makes it internal (docs/environments.md): users reach it from the internet.
    assert alb["Type"] == "application" and alb["Scheme"] == getattr(settings, "scheme", "internet-facing"), where
    assert alb["Subnets"] == {"Ref": names.PUBLIC_SUBNET_IDS}, where
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true", where
    assert attributes["deletion_protection.enabled"] == str(settings.deletion_protection).lower(), where
    assert attributes["idle_timeout.timeout_seconds"] == str(settings.idle_timeout_seconds), where
    assert attributes["access_logs.s3.enabled"] == "true" and attributes["access_logs.s3.prefix"], where


def route_tables(template: dict) -> dict[str, list[dict]]:
    """Subnet logical id -> the routes of its route table."""
    routes: dict[str, list[dict]] = {}
    for route in resources_of_type(template, "AWS::EC2::Route").values():
        routes.setdefault(target_of(route["Properties"]["RouteTableId"]), []).append(route["Properties"])
    return {
        target_of(a["Properties"]["SubnetId"]): routes.get(target_of(a["Properties"]["RouteTableId"]), [])
        for a in resources_of_type(template, "AWS::EC2::SubnetRouteTableAssociation").values()
    }


def listed(template: dict, output: str) -> list[str]:
    return [target_of(v) for v in template["Outputs"][output]["Value"]["Fn::Join"][1]]


def test_only_the_public_subnets_route_to_the_internet_and_nat_follows_the_file(configured_environment):
    network = configured_environment.config.environment.network
    template = configured_environment.rendered[NETWORK]
    _, vpc = only(template, "AWS::EC2::VPC", NETWORK)
    assert vpc["CidrBlock"] == network.vpc_cidr, NETWORK
    # The interface endpoints' private DNS names need both: without them the tasks resolve AWS APIs to public addresses.
    assert vpc["EnableDnsSupport"] is True and vpc["EnableDnsHostnames"] is True, NETWORK
    subnets = resources_of_type(template, "AWS::EC2::Subnet")
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values()), f"{NETWORK}: no subnet hands out public IPs"
    public, private = listed(template, names.PUBLIC_SUBNET_IDS), listed(template, names.PRIVATE_SUBNET_IDS)
    assert sorted(public + private) == sorted(subnets) and not set(public) & set(private), NETWORK
    public_cidrs, private_cidrs = carve_subnets(network)
    assert [subnets[s]["Properties"]["CidrBlock"] for s in public] == list(public_cidrs), NETWORK
    assert [subnets[s]["Properties"]["CidrBlock"] for s in private] == list(private_cidrs), NETWORK
    (gateway,) = resources_of_type(template, "AWS::EC2::InternetGateway")
    nat = {"none": 0, "single": 1, "per-az": network.az_count}[network.nat_mode]
    assert len(resources_of_type(template, "AWS::EC2::NatGateway")) == nat, f"{NETWORK}: nat_mode {network.nat_mode}"
    tables = route_tables(template)
    for subnet in public:
        assert [(r["DestinationCidrBlock"], target_of(r.get("GatewayId"))) for r in tables[subnet]] == [("0.0.0.0/0", gateway)], subnet
    for subnet in private:
        assert all("GatewayId" not in r for r in tables[subnet]), f"{NETWORK}: {subnet} routes to the internet gateway"
        default = [r for r in tables[subnet] if r["DestinationCidrBlock"] == "0.0.0.0/0"]
        assert len(default) == (1 if nat else 0) and all("NatGatewayId" in r for r in default), f"{NETWORK}: {subnet}"
    for logical_id, gateway_ in resources_of_type(template, "AWS::EC2::NatGateway").items():
        assert target_of(gateway_["Properties"]["SubnetId"]) in public, f"{NETWORK}: {logical_id}"
    # What needs the gateway attached waits for it (CloudFormation User Guide, "DependsOn attribute": the route and
    # the Elastic IPs of a VPC with an internet gateway).
    (attachment,) = resources_of_type(template, "AWS::EC2::VPCGatewayAttachment")
    waiting = [i for i, r in template["Resources"].items() if r["Type"] == "AWS::EC2::EIP" or "GatewayId" in r.get("Properties", {})]
    for logical_id in waiting:
        assert attachment in template["Resources"][logical_id].get("DependsOn", []), f"{NETWORK}: {logical_id}"


def test_every_service_runs_in_the_private_subnets_without_a_public_ip(configured_environment):
    for _, file, template in deployed_services(configured_environment):
        logical_id, ecs_service = only(template, "AWS::ECS::Service", file)
        network = ecs_service["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED", f"{file}: {logical_id}"
        assert network["Subnets"] == {"Ref": names.PRIVATE_SUBNET_IDS}, f"{file}: {logical_id}"


def test_the_hook_runs_in_the_private_subnets_and_the_canary_outside_the_vpc(configured_environment):
    rendered = configured_environment.rendered
    template = rendered[HEALTH_CHECK]
    functions = list(every(rendered, "AWS::Lambda::Function"))
    hook, canary = output_target(template, names.HOOK_FUNCTION_ARN), output_target(template, names.CANARY_FUNCTION_ARN)
    assert sorted(where for where, _, _ in functions) == sorted([f"{HEALTH_CHECK}: {hook}", f"{HEALTH_CHECK}: {canary}"])
    vpc_config = template["Resources"][hook]["Properties"]["VpcConfig"]
    assert vpc_config["SubnetIds"] == {"Ref": names.PRIVATE_SUBNET_IDS}, f"{HEALTH_CHECK}: {hook}"
    # It checks the public URLs as users reach them: from outside.
    assert "VpcConfig" not in template["Resources"][canary]["Properties"], f"{HEALTH_CHECK}: {canary}"
    flow_logs = list(every(rendered, "AWS::EC2::FlowLog"))
    (vpc,) = resources_of_type(rendered[NETWORK], "AWS::EC2::VPC")
    assert [(f["Properties"]["ResourceId"], f["Properties"]["TrafficType"]) for _, _, f in flow_logs] == [({"Ref": vpc}, "ALL")], NETWORK
    ((_, _, flow_log),) = flow_logs
    group = flow_log["Properties"]["LogGroupName"]
    role = rendered[NETWORK]["Resources"][target_of(flow_log["Properties"]["DeliverLogsPermissionArn"])]["Properties"]
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    # What flow logs call on their log group (VPC User Guide, "IAM role for publishing flow logs to CloudWatch Logs").
    assert {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"} <= set(statement["Action"]), NETWORK
    assert [json.dumps(group) in json.dumps(r) for r in statement["Resource"]] == [True], f"{NETWORK}: its own log group"
