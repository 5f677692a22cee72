"""The health-check functions: one code package, deployed twice.

- The hook function runs in the private subnets. ECS calls it at
  POST_TEST_TRAFFIC_SHIFT; it finds the green tasks from the test listener
  rule and calls each one's health endpoint directly, because an
  internet-facing ALB cannot be reached from subnets without NAT.  Every
  service's security group admits its security group on the container port.
- The canary function runs outside the VPC and checks the public URLs, as users
  see them: on a schedule, and as the pipeline's post-deploy smoke test.
"""

from __future__ import annotations

import json

from awacs.aws import Condition, StringEquals
from troposphere import GetAtt, Output, Parameter, Ref, Sub, Template, awslambda, ec2, iam

from templates import names
from templates.config.model import HOOK_APIS, Config, camel_case
from templates.iam import policies
from templates.stacks import load_balancer
from templates.stacks.common import log_group, new_template, role, skip_checks, tags

RUNTIME = "python3.12"
HOOK_TIMEOUT_SECONDS = 60
CANARY_TIMEOUT_SECONDS = 30


def add_parameters(template: Template, config: Config) -> dict[str, Parameter]:
    kinds = {
        names.ASSETS_BUCKET: "String",
        names.HEALTH_CHECK_CODE_KEY: "String",
        names.code_version_parameter(names.HEALTH_CHECK_CODE_KEY): "String",
        names.VPC_ID: "AWS::EC2::VPC::Id",
        names.VPC_CIDR: "String",
        names.PRIVATE_SUBNET_IDS: "List<AWS::EC2::Subnet::Id>",
        names.LOAD_BALANCER_DNS_NAME: "String",
        names.ENVIRONMENT_KEY_ARN: "String",
    }
    if config.environment.load_balancer.domain_name:
        del kinds[names.LOAD_BALANCER_DNS_NAME]  # the canary calls the domain, not the ALB's own name
    return {name: template.add_parameter(Parameter(name, Type=kind)) for name, kind in kinds.items()}


def function_name(config: Config, role: str) -> str:
    return f"{config.stack_prefix}-health-{role}"


def add_hook_security_group(template: Template, config: Config, params) -> ec2.SecurityGroup:
    ports = sorted({s.container_port for s in config.project.services})
    egress = [
        ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=Ref(params[names.VPC_CIDR]), Description="health endpoints of green tasks"
        )
        for port in ports
    ]
    egress.append(hook_api_egress(config, params))
    return template.add_resource(
        ec2.SecurityGroup(
            "HookSecurityGroup",
            GroupDescription=f"{config.stack_prefix} blue/green hook: calls the health endpoints of green tasks",
            VpcId=Ref(params[names.VPC_ID]),
            SecurityGroupEgress=egress,
            Tags=tags(config),
        )
    )


def hook_api_egress(config: Config, params) -> ec2.SecurityGroupRule:
    """HTTPS to the APIs the hook calls: to the VPC's endpoints when every one has an endpoint,
    else through NAT to the internet (the loader refuses a network with neither)."""
    network = config.environment.network
    if all(api in network.interface_endpoints for api in HOOK_APIS):
        return ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=Ref(params[names.VPC_CIDR]), Description="AWS APIs via VPC endpoints"
        )
    return ec2.SecurityGroupRule(
        IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0", Description="AWS APIs through NAT (no endpoint for some)"
    )


def add_role(template: Template, title: str, group, key_arn, statements: list) -> iam.Role:
    """A function's role: write its own log group, decrypt its settings, and ``statements``."""
    base = [policies.write_logs(Ref(group)), policies.allow(["kms:Decrypt"], [key_arn])]
    return role(template, title, "lambda", "health-check", *base, *statements)


def ec2_arn(resource: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def hook_statements(config: Config, security_group: ec2.SecurityGroup) -> list:
    """Find green tasks, read whether the service wants any, and manage the ENIs a VPC function runs on (the managed
    AWSLambdaVPCAccessExecutionRole grants these on "*"; here they are scoped to
    this account's interfaces and subnets and the hook's own security group)."""
    interfaces = ec2_arn("network-interface/*")
    return [
        policies.wildcard_statement(
            ["elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetHealth"], sid="FindGreenTasks"
        ),
        policies.allow(
            ["ecs:DescribeServices"],
            [Sub(f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:service/{config.stack_prefix}/*")],
            sid="ReadDesiredTaskCounts",
        ),
        policies.wildcard_statement(["ec2:DescribeNetworkInterfaces"], sid="ListNetworkInterfaces"),
        policies.allow(
            ["ec2:CreateNetworkInterface"],
            [
                interfaces,
                ec2_arn("subnet/*"),
                Sub(
                    "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/${Group}",
                    Group=GetAtt(security_group, "GroupId"),
                ),
            ],
            sid="CreateNetworkInterfaces",
        ),
        policies.allow(
            ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
            [interfaces],
            sid="ManageNetworkInterfaces",
        ),
    ]


def canary_namespace(config: Config) -> str:
    return names.canary_metrics_namespace(config.project.name, config.target)


def canary_statements(config: Config) -> list:
    return [
        policies.wildcard_statement(
            ["cloudwatch:PutMetricData"],
            sid="PublishCanaryMetrics",
            condition=Condition(StringEquals({"cloudwatch:namespace": canary_namespace(config)})),
        ),
        policies.wildcard_statement(["codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"], sid="ReportSmokeTests"),
    ]


def canary_endpoints(config: Config, dns_name) -> Sub:
    """The public health URL of every service, as users reach it (the domain, when there is one), as JSON."""
    endpoints = [{"service": s.name, "url": f"URL_BASE{s.route_path}{s.health_check_path}"} for s in config.project.services]
    text = json.dumps({"endpoints": endpoints}, sort_keys=True).replace("URL_BASE", load_balancer.public_base_url(config))
    return load_balancer.with_dns_name(text, dns_name)


def code(params) -> awslambda.Code:
    """The zip deploy.py uploaded, pinned to its S3 version (Code.S3ObjectVersion, "for versioned objects, the version
    of the deployment package object to use": https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-code.html)."""
    return awslambda.Code(
        S3Bucket=Ref(params[names.ASSETS_BUCKET]),
        S3Key=Ref(params[names.HEALTH_CHECK_CODE_KEY]),
        S3ObjectVersion=Ref(params[names.code_version_parameter(names.HEALTH_CHECK_CODE_KEY)]),
    )


def add_function(template: Template, config: Config, params, role_name: str, role, group, timeout: int, environment: dict, **extra):
    function = awslambda.Function(
        f"{camel_case(role_name)}Function",
        FunctionName=function_name(config, role_name),
        Description=f"{config.stack_prefix} health check ({role_name})",
        Runtime=RUNTIME,
        Handler=names.HEALTH_CHECK_HANDLER,
        Code=code(params),
        Role=GetAtt(role, "Arn"),
        Timeout=timeout,
        MemorySize=256,
        KmsKeyArn=Ref(params[names.ENVIRONMENT_KEY_ARN]),
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(group)),
        TracingConfig=awslambda.TracingConfig(Mode="PassThrough"),
        Environment=awslambda.Environment(Variables=environment),
        Tags=tags(config),
        **extra,
    )
    skip_checks(
        function,
        {
            "CKV_AWS_115": "reserved concurrency would take from the account's unreserved pool, which new accounts cannot spare",
            "CKV_AWS_116": "callers handle failures: ECS fails the hook, CodePipeline the action, the canary alarm missing data",
        },
    )
    return template.add_resource(function)


def build(config: Config) -> Template:
    template = new_template(f"{config.stack_prefix}: health-check functions (blue/green hook and canary)")
    params = add_parameters(template, config)
    key_arn = Ref(params[names.ENVIRONMENT_KEY_ARN])
    security_group = add_hook_security_group(template, config, params)

    hook_logs = log_group(template, "HookLogGroup", config, names.retained_name(f"/aws/lambda/{function_name(config, 'hook')}"), key_arn)
    hook_role = add_role(template, "HookRole", hook_logs, key_arn, hook_statements(config, security_group))
    hook = add_function(
        template,
        config,
        params,
        "hook",
        hook_role,
        hook_logs,
        HOOK_TIMEOUT_SECONDS,
        {"HOOK_CALLBACK_DELAY_SECONDS": "15", "HOOK_MAX_WAIT_SECONDS": "600", "LOG_LEVEL": "INFO"},
        VpcConfig=awslambda.VPCConfig(SubnetIds=Ref(params[names.PRIVATE_SUBNET_IDS]), SecurityGroupIds=[Ref(security_group)]),
    )

    canary_logs = log_group(
        template, "CanaryLogGroup", config, names.retained_name(f"/aws/lambda/{function_name(config, 'canary')}"), key_arn
    )
    canary_role = add_role(template, "CanaryRole", canary_logs, key_arn, canary_statements(config))
    canary = add_function(
        template,
        config,
        params,
        "canary",
        canary_role,
        canary_logs,
        CANARY_TIMEOUT_SECONDS,
        {
            "CANARY_ENDPOINTS": canary_endpoints(config, Ref(names.LOAD_BALANCER_DNS_NAME)),
            "METRICS_NAMESPACE": canary_namespace(config),
            "LOG_LEVEL": "INFO",
        },
    )
    # Checking public URLs as users see them is the point: it must not run in the VPC.
    skip_checks(canary, {"CKV_AWS_117": "checks the public URLs from outside, as users reach them"})

    outputs = {
        names.HOOK_FUNCTION_ARN: GetAtt(hook, "Arn"),
        names.HOOK_SECURITY_GROUP_ID: GetAtt(security_group, "GroupId"),
        names.CANARY_FUNCTION_ARN: GetAtt(canary, "Arn"),
        names.CANARY_FUNCTION_NAME: Ref(canary),
    }
    for name, value in outputs.items():
        template.add_output(Output(name, Value=value))
    return template
