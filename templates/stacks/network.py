"""The environment's network: VPC, subnets across 2 or 3 AZs, NAT, VPC endpoints, flow logs."""

from __future__ import annotations

from troposphere import GetAtt, GetAZs, Join, Output, Parameter, Ref, Select, Sub, Template, ec2

from templates import names
from templates.config.model import INTERFACE_ENDPOINTS, Config, camel_case, carve_subnets
from templates.iam import policies
from templates.stacks.common import log_group, new_template, role, tags


def add_vpc(template: Template, config: Config) -> ec2.VPC:
    return template.add_resource(
        ec2.VPC(
            "Vpc",
            CidrBlock=config.environment.network.vpc_cidr,
            # Private DNS names of interface endpoints need both.
            EnableDnsSupport=True,
            EnableDnsHostnames=True,
            Tags=tags(config, Name=config.stack_prefix),
        )
    )


def add_subnets(template: Template, config: Config, vpc: ec2.VPC, tier: str, cidrs: tuple[str, ...]) -> list[ec2.Subnet]:
    return [
        template.add_resource(
            ec2.Subnet(
                f"{tier}Subnet{index + 1}",
                VpcId=Ref(vpc),
                CidrBlock=cidr,
                AvailabilityZone=Select(index, GetAZs("")),
                MapPublicIpOnLaunch=False,  # nothing here needs a public IP but the ALB, which gets its own
                Tags=tags(config, Name=f"{config.stack_prefix}-{tier.lower()}-{index + 1}"),
            )
        )
        for index, cidr in enumerate(cidrs)
    ]


def add_public_routing(template: Template, config: Config, vpc: ec2.VPC, subnets: list[ec2.Subnet]) -> ec2.InternetGateway:
    gateway = template.add_resource(ec2.InternetGateway("InternetGateway", Tags=tags(config)))
    attachment = template.add_resource(
        ec2.VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(gateway))
    )
    table = template.add_resource(ec2.RouteTable("PublicRouteTable", VpcId=Ref(vpc), Tags=tags(config)))
    template.add_resource(
        ec2.Route(
            "PublicDefaultRoute",
            RouteTableId=Ref(table),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref(gateway),
            DependsOn=[attachment.title],
        )
    )
    for index, subnet in enumerate(subnets):
        template.add_resource(
            ec2.SubnetRouteTableAssociation(f"PublicSubnet{index + 1}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table))
        )
    return attachment


def add_nat_gateways(template: Template, config: Config, public: list[ec2.Subnet], attachment) -> list[ec2.NatGateway]:
    """No NAT, one shared by every AZ, or one per AZ (survives an AZ outage)."""
    count = {"none": 0, "single": 1, "per-az": len(public)}[config.environment.network.nat_mode]
    gateways = []
    for index in range(count):
        address = template.add_resource(ec2.EIP(f"NatAddress{index + 1}", Domain="vpc", DependsOn=[attachment.title], Tags=tags(config)))
        gateways.append(
            template.add_resource(
                ec2.NatGateway(
                    f"NatGateway{index + 1}",
                    AllocationId=GetAtt(address, "AllocationId"),
                    SubnetId=Ref(public[index]),
                    Tags=tags(config),
                )
            )
        )
    return gateways


def add_private_routing(
    template: Template, config: Config, vpc: ec2.VPC, subnets: list[ec2.Subnet], nat_gateways: list[ec2.NatGateway]
) -> list[ec2.RouteTable]:
    """One route table per private subnet, so each AZ can use its own NAT gateway."""
    tables = []
    for index, subnet in enumerate(subnets):
        table = template.add_resource(ec2.RouteTable(f"PrivateRouteTable{index + 1}", VpcId=Ref(vpc), Tags=tags(config)))
        template.add_resource(
            ec2.SubnetRouteTableAssociation(f"PrivateSubnet{index + 1}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table))
        )
        if nat_gateways:
            template.add_resource(
                ec2.Route(
                    f"PrivateDefaultRoute{index + 1}",
                    RouteTableId=Ref(table),
                    DestinationCidrBlock="0.0.0.0/0",
                    NatGatewayId=Ref(nat_gateways[index % len(nat_gateways)]),
                )
            )
        tables.append(table)
    return tables


def add_endpoints(template: Template, config: Config, vpc: ec2.VPC, subnets: list[ec2.Subnet], tables: list[ec2.RouteTable]) -> None:
    """S3 gateway endpoint (free) and the interface endpoints the environment lists."""
    network = config.environment.network
    template.add_resource(
        ec2.VPCEndpoint(
            "S3GatewayEndpoint",
            VpcId=Ref(vpc),
            ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
            VpcEndpointType="Gateway",
            RouteTableIds=[Ref(t) for t in tables],
            Tags=tags(config),
        )
    )
    if not network.interface_endpoints:
        return
    security_group = template.add_resource(
        ec2.SecurityGroup(
            "EndpointSecurityGroup",
            GroupDescription="HTTPS from inside the VPC to the interface endpoints",
            VpcId=Ref(vpc),
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=network.vpc_cidr, Description="HTTPS from the VPC")
            ],
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=network.vpc_cidr, Description="replies stay in the VPC"
                )
            ],
            Tags=tags(config),
        )
    )
    endpoint_subnets = subnets[: network.endpoint_az_count or len(subnets)]
    for name in network.interface_endpoints:
        template.add_resource(
            ec2.VPCEndpoint(
                camel_case(name) + "Endpoint",
                VpcId=Ref(vpc),
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{INTERFACE_ENDPOINTS[name]}"),
                VpcEndpointType="Interface",
                PrivateDnsEnabled=True,
                SubnetIds=[Ref(s) for s in endpoint_subnets],
                SecurityGroupIds=[Ref(security_group)],
                Tags=tags(config),
            )
        )


def add_flow_logs(template: Template, config: Config, vpc: ec2.VPC) -> None:
    key_arn = None
    if config.environment.logs.kms_encrypted:
        key_arn = Ref(template.add_parameter(Parameter(names.ENVIRONMENT_KEY_ARN, Type="String")))
    group = log_group(template, "FlowLogGroup", config, names.retained_name(f"/vpc/{config.stack_prefix}/flow-logs"), key_arn)
    flow_role = role(template, "FlowLogRole", "vpc-flow-logs", "write-flow-logs", policies.write_logs(Ref(group)))
    template.add_resource(
        ec2.FlowLog(
            "FlowLog",
            ResourceId=Ref(vpc),
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogGroupName=Ref(group),
            DeliverLogsPermissionArn=GetAtt(flow_role, "Arn"),
            Tags=tags(config),
        )
    )


def add_outputs(template: Template, vpc: ec2.VPC, public: list[ec2.Subnet], private: list[ec2.Subnet]) -> None:
    template.add_output(Output(names.VPC_ID, Value=Ref(vpc)))
    template.add_output(Output(names.VPC_CIDR, Value=GetAtt(vpc, "CidrBlock")))
    template.add_output(Output(names.PUBLIC_SUBNET_IDS, Value=Join(",", [Ref(s) for s in public])))
    template.add_output(Output(names.PRIVATE_SUBNET_IDS, Value=Join(",", [Ref(s) for s in private])))


def build(config: Config) -> Template:
    template = new_template(f"{config.stack_prefix}: VPC, subnets, NAT, VPC endpoints and flow logs")
    public_cidrs, private_cidrs = carve_subnets(config.environment.network)
    vpc = add_vpc(template, config)
    public = add_subnets(template, config, vpc, "Public", public_cidrs)
    private = add_subnets(template, config, vpc, "Private", private_cidrs)
    attachment = add_public_routing(template, config, vpc, public)
    nat_gateways = add_nat_gateways(template, config, public, attachment)
    tables = add_private_routing(template, config, vpc, private, nat_gateways)
    add_endpoints(template, config, vpc, private, tables)
    add_flow_logs(template, config, vpc)
    add_outputs(template, vpc, public, private)
    return template
