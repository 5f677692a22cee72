"""One nested stack per service: its task, its ECS service with ECS-native
blue/green deployments gated by the health-check hook, autoscaling and alarms.

Built in a loop from ``parameters/project.yaml``; nothing here is per-service code.
What differs between services (name, route, port, size, ...) is a stack parameter the
root passes in (``service_values``), so every service of one shape shares one template:
rendered, linted, uploaded and stored once however many services there are.

Blue/green: the service registers its tasks in the blue target group; ECS
starts a new revision's tasks in the green one, points the test listener rule
at them, asks the hook function at POST_TEST_TRAFFIC_SHIFT, shifts the
production rule, waits the bake time and drains blue.  Which group is "green"
alternates with every deployment, so the listener rules list both with
weights and ECS rewrites the weights; the template never changes them.
"""

from __future__ import annotations

from awacs.aws import Condition, StringEquals
from troposphere import (
    Equals,
    GetAtt,
    If,
    Join,
    Output,
    Parameter,
    Ref,
    Sub,
    Template,
    cloudwatch,
    ec2,
    ecs,
    iam,
    logs,
    secretsmanager,
    ssm,
)
from troposphere import applicationautoscaling as scaling
from troposphere import elasticloadbalancingv2 as elb

from templates import names, policies
from templates.common import RETAIN, log_group, new_template, role, skip_checks, tags
from templates.config import AlarmSpec, Config, Service

CONTAINER = "app"
RUNNING = "Running"  # condition: the service has an image and runs tasks
BLUE, GREEN = "Blue", "Green"


# The per-service parameters: (name, CloudFormation parameter properties).  CloudFormation
# checks the constraints when the stack is created or updated ("Parameters", CloudFormation
# User Guide); the configuration loader has checked the same values before rendering.
SERVICE_NAME = "ServiceName"
ROUTE_PATH = "RoutePath"
RULE_PRIORITY = "RulePriority"
CONTAINER_PORT = "ContainerPort"
HEALTH_CHECK_PATH = "HealthCheckPath"
SECRET_VARIABLE = "SecretVariable"
PER_SERVICE = {
    SERVICE_NAME: {"Type": "String", "AllowedPattern": "[a-z][a-z0-9-]*", "Description": "the service's name in project.yaml"},
    ROUTE_PATH: {"Type": "String", "AllowedPattern": "/.*", "Description": "the ALB path prefix routed to the service"},
    # Listener rule priorities run from 1 to 50000 (ELB API Reference, CreateRule: Priority).
    RULE_PRIORITY: {"Type": "Number", "MinValue": 1, "MaxValue": 50000, "Description": "the listener rules' priority"},
    CONTAINER_PORT: {"Type": "Number", "MinValue": 1, "MaxValue": 65535, "Description": "the port the container listens on"},
    HEALTH_CHECK_PATH: {"Type": "String", "AllowedPattern": "/.*", "Description": "the target groups' health check path"},
    SECRET_VARIABLE: {"Type": "String", "AllowedPattern": "[A-Z][A-Z0-9_]*", "Description": "the variable the secret is injected as"},
}
# The service's name where a Fn::Sub string of the shared template needs it.
SERVICE_NAME_IN_SUB = f"${{{SERVICE_NAME}}}"
# The stack parameter every service template takes for "does the service have an image yet".
RUNNING_PARAMETER = "Running"


def service_values(service: Service) -> dict[str, str]:
    """What the root passes a service's stack, as the strings nested stack parameters are."""
    values = {
        SERVICE_NAME: service.name,
        ROUTE_PATH: service.route_path,
        RULE_PRIORITY: service.rule_priority,
        CONTAINER_PORT: service.container_port,
        HEALTH_CHECK_PATH: service.health_check_path,
        SECRET_VARIABLE: service.secret_variable,
    }
    return {name: str(value) for name, value in values.items()}


BASE_STEM = "service"


def shape(service: Service) -> tuple:
    """What a service's template holds literally rather than as a parameter: services equal in
    it render equal templates (``build`` reads nothing else of the service; a test holds it to that).

    The task's size stays literal so that it is checked before deploying: cfn-lint's E3047 checks
    the Fargate CPU/memory pair, and Control Tower's CT.ECS.PR.7 rule needs a number for the
    container's memory limit.  The health command is a list of any length."""
    return (service.cpu, service.memory, service.run_as_user, tuple(service.container_health_command))


def stack_title(service: Service) -> str:
    return f"{service.logical_name}ServiceStack"


def _resource_name(config: Config, service_name: str) -> str:
    return f"{config.stack_prefix}-{service_name}"


def resource_name(config: Config, service: Service) -> str:
    """``<project>-<target>-<service>``: the ECS service, its task family and the start of its other names."""
    return _resource_name(config, service.name)


def named(config: Config, suffix: str = "") -> Sub:
    """``resource_name`` plus ``suffix`` as the shared template spells it: the service's name from its parameter."""
    return Sub(_resource_name(config, SERVICE_NAME_IN_SUB) + suffix)


def repository_name(config: Config) -> str:
    """The service's ECR repository name, for a Fn::Sub of the shared template."""
    return names.ecr_repository_name(config.project.name, SERVICE_NAME_IN_SUB)


def add_parameters(template: Template) -> dict[str, Parameter]:
    kinds = {
        names.VPC_ID: "AWS::EC2::VPC::Id",
        names.PRIVATE_SUBNET_IDS: "List<AWS::EC2::Subnet::Id>",
        names.LOAD_BALANCER_SECURITY_GROUP_ID: "AWS::EC2::SecurityGroup::Id",
        names.HOOK_SECURITY_GROUP_ID: "AWS::EC2::SecurityGroup::Id",
        names.LOAD_BALANCER_FULL_NAME: "String",
        names.PRODUCTION_LISTENER_ARN: "String",
        names.TEST_LISTENER_ARN: "String",
        names.CLUSTER_NAME: "String",
        names.ENVIRONMENT_KEY_ARN: "String",
        names.HOOK_FUNCTION_ARN: "String",
        names.IMAGE_TAG: "String",
        names.ALERT_TOPIC_ARN: "String",
    }
    params = {name: template.add_parameter(Parameter(name, Type=kind)) for name, kind in kinds.items()}
    params.update({name: template.add_parameter(Parameter(name, **spec)) for name, spec in PER_SERVICE.items()})
    params[RUNNING_PARAMETER] = template.add_parameter(
        Parameter(
            RUNNING_PARAMETER,
            Type="String",
            AllowedValues=["true", "false"],
            Default="true",
            Description="false runs no tasks: the image tag is not in ECR yet",
        )
    )
    template.add_condition(RUNNING, Equals(Ref(params[RUNNING_PARAMETER]), "true"))
    return params


# --- identity and secrets -------------------------------------------------------


def repository_arn(config: Config) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{repository_name(config)}")


def parameter_arn(parameter: ssm.Parameter) -> Sub:
    return Sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Name}", Name=Ref(parameter))


def add_secret(template: Template, config: Config, key_arn) -> secretsmanager.Secret:
    # Retained, so its name carries the stack instance: the leftover secret of a deleted
    # target never blocks deploying that target again (a fixed name fails with "already exists").
    secret = secretsmanager.Secret(
        "Secret",
        Name=names.retained_name(_resource_name(config, SERVICE_NAME_IN_SUB) + "/app"),
        Description=named(config, f": {SERVICE_NAME_IN_SUB}'s generated secret, injected as ${{{SECRET_VARIABLE}}}"),
        KmsKeyId=key_arn,
        GenerateSecretString=secretsmanager.GenerateSecretString(PasswordLength=48, ExcludePunctuation=True),
        DeletionPolicy=RETAIN,
        UpdateReplacePolicy=RETAIN,
        Tags=tags(config),
    )
    skip_checks(secret, {"CKV_AWS_149": "encrypted with the environment's customer-managed key through KmsKeyId"})
    return template.add_resource(secret)


def add_settings(template: Template, config: Config) -> dict[str, ssm.Parameter]:
    """Plain configuration as SSM parameters, injected by ARN like the secret."""
    values = {"LOG_LEVEL": config.environment.services.log_level}
    return {
        variable: template.add_resource(
            ssm.Parameter(
                f"Setting{variable.title().replace('_', '')}",
                Name=Sub(f"/{config.stack_prefix}/{SERVICE_NAME_IN_SUB}/{variable}"),
                Type="String",
                Value=value,
                Tags={"Project": config.project.name, "Target": config.target},
            )
        )
        for variable, value in values.items()
    }


def add_execution_role(template: Template, config: Config, group, secret, settings, key_arn) -> iam.Role:
    """What ECS needs to start the task: pull this service's image, write its log group, read its secret."""
    statements = [
        policies.wildcard_statement(["ecr:GetAuthorizationToken"], sid="RegistryLogin"),
        policies.allow(
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            [repository_arn(config)],
            sid="PullThisServicesImage",
        ),
        policies.allow(["logs:CreateLogStream", "logs:PutLogEvents"], [policies.log_group_arn(Ref(group))], sid="WriteThisServicesLogs"),
        policies.allow(["secretsmanager:GetSecretValue"], [Ref(secret)], sid="ReadThisServicesSecret"),
        policies.allow(["ssm:GetParameters"], [parameter_arn(p) for p in settings.values()], sid="ReadThisServicesSettings"),
        policies.allow(
            ["kms:Decrypt"],
            [key_arn],
            sid="DecryptTheSecret",
            condition=Condition(StringEquals({"kms:ViaService": Sub("secretsmanager.${AWS::Region}.${AWS::URLSuffix}")})),
        ),
    ]
    return role(template, "ExecutionRole", "ecs-tasks.amazonaws.com", "start-task", *statements)


def add_task_role(template: Template, settings) -> iam.Role:
    """What the running code may do: re-read its own settings, nothing else."""
    own_settings = policies.allow(["ssm:GetParameter", "ssm:GetParameters"], [parameter_arn(p) for p in settings.values()])
    return role(template, "TaskRole", "ecs-tasks.amazonaws.com", "own-settings", own_settings)


# --- task definition ---------------------------------------------------------------


def image(config: Config, params) -> Sub:
    return Sub(
        f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{repository_name(config)}:${{Tag}}",
        Tag=Ref(params[names.IMAGE_TAG]),
    )


def add_task_definition(template, config, service, params, group, secret, settings, execution_role, task_role) -> ecs.TaskDefinition:
    port = Ref(params[CONTAINER_PORT])
    container = ecs.ContainerDefinition(
        Name=CONTAINER,
        Image=image(config, params),
        Essential=True,
        # The container's hard memory limit, the whole task's (Control Tower CT.ECS.PR.7); on Fargate
        # it may not exceed the task's Memory (ECS Developer Guide, "Container definitions: memory").
        Memory=service.memory,
        User=service.run_as_user,
        ReadonlyRootFilesystem=True,
        PortMappings=[ecs.PortMapping(ContainerPort=port, Protocol="tcp")],
        MountPoints=[ecs.MountPoint(SourceVolume="tmp", ContainerPath="/tmp", ReadOnly=False)],
        Environment=[
            ecs.Environment(Name="PORT", Value=port),
            ecs.Environment(Name="SERVICE_NAME", Value=Ref(params[SERVICE_NAME])),
            ecs.Environment(Name="SERVICE_VERSION", Value=Ref(params[names.IMAGE_TAG])),
            ecs.Environment(Name="ROUTE_PREFIX", Value=Ref(params[ROUTE_PATH])),
        ],
        Secrets=[ecs.Secret(Name=Ref(params[SECRET_VARIABLE]), ValueFrom=Ref(secret))]
        + [ecs.Secret(Name=variable, ValueFrom=parameter_arn(p)) for variable, p in settings.items()],
        HealthCheck=ecs.HealthCheck(Command=list(service.container_health_command), Interval=15, Timeout=5, Retries=3, StartPeriod=15),
        LogConfiguration=ecs.LogConfiguration(
            LogDriver="awslogs",
            Options={"awslogs-group": Ref(group), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": Ref(params[SERVICE_NAME])},
        ),
        StopTimeout=30,
    )
    return template.add_resource(
        ecs.TaskDefinition(
            "TaskDefinition",
            Family=named(config),
            Cpu=str(service.cpu),
            Memory=str(service.memory),
            NetworkMode="awsvpc",
            RequiresCompatibilities=["FARGATE"],
            RuntimePlatform=ecs.RuntimePlatform(CpuArchitecture="X86_64", OperatingSystemFamily="LINUX"),
            ExecutionRoleArn=GetAtt(execution_role, "Arn"),
            TaskRoleArn=GetAtt(task_role, "Arn"),
            ContainerDefinitions=[container],
            Volumes=[ecs.Volume(Name="tmp")],
            Tags=tags(config),
        )
    )


# --- traffic -------------------------------------------------------------------------


def add_target_groups(template: Template, config: Config, params) -> dict[str, elb.TargetGroup]:
    check = config.environment.services.health_check
    groups = {}
    for colour in (BLUE, GREEN):
        groups[colour] = template.add_resource(
            elb.TargetGroup(
                f"{colour}TargetGroup",
                TargetType="ip",
                Protocol="HTTP",
                Port=Ref(params[CONTAINER_PORT]),
                VpcId=Ref(params[names.VPC_ID]),
                HealthCheckPath=Ref(params[HEALTH_CHECK_PATH]),
                HealthCheckIntervalSeconds=check.interval_seconds,
                HealthCheckTimeoutSeconds=check.timeout_seconds,
                HealthyThresholdCount=check.healthy_threshold,
                UnhealthyThresholdCount=check.unhealthy_threshold,
                Matcher=elb.Matcher(HttpCode="200"),
                TargetGroupAttributes=[
                    elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value=str(check.deregistration_delay_seconds))
                ],
                Tags=tags(config, Service=Ref(params[SERVICE_NAME]), Colour=colour.lower()),
            )
        )
    return groups


def add_listener_rules(template: Template, params, groups) -> dict[str, elb.ListenerRule]:
    """The production and test rules for the service's path, forwarding with weights ECS rewrites."""
    forward = elb.ListenerRuleAction(
        Type="forward",
        ForwardConfig=elb.ForwardConfig(
            TargetGroups=[
                elb.TargetGroupTuple(TargetGroupArn=Ref(groups[BLUE]), Weight=100),
                elb.TargetGroupTuple(TargetGroupArn=Ref(groups[GREEN]), Weight=0),
            ]
        ),
    )
    condition = elb.Condition(
        Field="path-pattern", PathPatternConfig=elb.PathPatternConfig(Values=[Ref(params[ROUTE_PATH]), Sub(f"${{{ROUTE_PATH}}}/*")])
    )
    return {
        kind: template.add_resource(
            elb.ListenerRule(
                f"{kind}ListenerRule",
                ListenerArn=Ref(params[listener]),
                Priority=Ref(params[RULE_PRIORITY]),
                Conditions=[condition],
                Actions=[forward],
            )
        )
        for kind, listener in (("Production", names.PRODUCTION_LISTENER_ARN), ("Test", names.TEST_LISTENER_ARN))
    }


def add_security_group(template: Template, config: Config, params) -> ec2.SecurityGroup:
    """Admits the ALB and the blue/green hook on the container port; nothing else."""
    port = Ref(params[CONTAINER_PORT])
    sources = {names.LOAD_BALANCER_SECURITY_GROUP_ID: "the load balancer", names.HOOK_SECURITY_GROUP_ID: "the blue/green health-check hook"}
    return template.add_resource(
        ec2.SecurityGroup(
            "TaskSecurityGroup",
            GroupDescription=named(config, " tasks"),
            VpcId=Ref(params[names.VPC_ID]),
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp", FromPort=port, ToPort=port, SourceSecurityGroupId=Ref(params[name]), Description=who
                )
                for name, who in sources.items()
            ],
            # HTTPS to AWS APIs: through the VPC endpoints, or NAT where the environment has it.
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0", Description="HTTPS to AWS APIs")
            ],
            Tags=tags(config, Service=Ref(params[SERVICE_NAME])),
        )
    )


# --- blue/green ------------------------------------------------------------------------


def ecs_role(template: Template, title: str, policy_name: str, *statements) -> iam.Role:
    """A role ECS itself assumes, trusted exactly as the ECS guide documents it: ecs.amazonaws.com,
    sts:AssumeRole, no condition ("Amazon ECS infrastructure IAM role for load balancers";
    "Permissions required for Lambda functions in Amazon ECS blue/green deployments")."""
    return role(template, title, "ecs.amazonaws.com", policy_name, *statements, source_account_condition=False)


def add_load_balancer_role(template: Template, groups, rules) -> iam.Role:
    """ECS shifts traffic with this role: only these two rules and these two target groups."""
    statements = [
        policies.wildcard_statement(
            [
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:DescribeListeners",
            ],
            sid="ReadLoadBalancer",
        ),
        policies.allow(["elasticloadbalancing:ModifyRule"], [Ref(rule) for rule in rules.values()], sid="ShiftTraffic"),
        policies.allow(
            ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            [Ref(group) for group in groups.values()],
            sid="MoveTasks",
        ),
    ]
    return ecs_role(template, "BlueGreenRole", "shift-traffic", *statements)


def add_hook_role(template: Template, params) -> iam.Role:
    invoke = policies.allow(["lambda:InvokeFunction"], [Ref(params[names.HOOK_FUNCTION_ARN])])
    return ecs_role(template, "LifecycleHookRole", "invoke-health-check", invoke)


# --- alarms ------------------------------------------------------------------------------


def target_group_metric(metric_id: str, metric: str, group, params, stat: str, period: int) -> cloudwatch.MetricDataQuery:
    return cloudwatch.MetricDataQuery(
        Id=metric_id,
        ReturnData=False,
        MetricStat=cloudwatch.MetricStat(
            Metric=cloudwatch.Metric(
                Namespace="AWS/ApplicationELB",
                MetricName=metric,
                Dimensions=[
                    cloudwatch.MetricDimension(Name="LoadBalancer", Value=Ref(params[names.LOAD_BALANCER_FULL_NAME])),
                    cloudwatch.MetricDimension(Name="TargetGroup", Value=GetAtt(group, "TargetGroupFullName")),
                ],
            ),
            Period=period,
            Stat=stat,
        ),
    )


def alarm_name(config: Config, service: Service, kind: str) -> str:
    """Alarm names are fixed, so the environment's composite alarm can name them."""
    return f"{resource_name(config, service)}-{kind}"


def alarm_name_in_template(config: Config, kind: str) -> Sub:
    """``alarm_name`` as the shared template spells it, the service's name from its parameter."""
    return named(config, f"-{kind}")


# Alarms on the tasks themselves: every one of them breaches while a scheduled
# off-hours window scales the service to zero.  With off_hours set they notify
# through the monitoring stack's composite alarm, whose actions that window suppresses.
QUIET_IN_OFF_HOURS = ("healthy_hosts", "running_tasks")


def notifies_directly(config: Config, kind: str) -> bool:
    return not (config.environment.services.scaling.off_hours.stop and kind in QUIET_IN_OFF_HOURS)


def alarm_settings(spec: AlarmSpec, params, notify: bool = True) -> dict:
    topic = [Ref(params[names.ALERT_TOPIC_ARN])] if notify else []
    return {
        **({"AlarmActions": topic, "OKActions": topic} if notify else {}),
        "EvaluationPeriods": spec.evaluation_periods,
        "DatapointsToAlarm": spec.datapoints_to_alarm,
        "Threshold": spec.threshold,
        "TreatMissingData": spec.treat_missing_data,
    }


def both_groups_alarm(
    template, config, params, groups, title, metric, stat, expression, operator, spec, what, notify=True
) -> cloudwatch.Alarm:
    """An alarm over whichever target group is live: blue and green alternate with every deployment."""
    queries = [target_group_metric(colour.lower(), metric, groups[colour], params, stat, spec.period_seconds) for colour in (BLUE, GREEN)]
    queries.append(cloudwatch.MetricDataQuery(Id="live", Expression=expression, Label=what, ReturnData=True))
    return template.add_resource(
        cloudwatch.Alarm(
            title,
            AlarmName=alarm_name_in_template(config, title[:-5].lower()),
            AlarmDescription=Sub(f"{SERVICE_NAME_IN_SUB}: {what}"),
            ComparisonOperator=operator,
            Metrics=queries,
            **alarm_settings(spec, params, notify),
        )
    )


def add_alarms(template: Template, config: Config, params, groups) -> dict[str, cloudwatch.Alarm]:
    alarms = config.environment.alarms
    shared = (template, config, params, groups)
    created = {
        "target_5xx": both_groups_alarm(
            *shared,
            "Target5xxAlarm",
            "HTTPCode_Target_5XX_Count",
            "Sum",
            "FILL(blue, 0) + FILL(green, 0)",
            "GreaterThanOrEqualToThreshold",
            alarms.target_5xx,
            "5XX responses from the tasks",
        ),
        "latency_p99": both_groups_alarm(
            *shared,
            "LatencyP99Alarm",
            "TargetResponseTime",
            "p99",
            "MAX([FILL(blue, 0), FILL(green, 0)])",
            "GreaterThanThreshold",
            alarms.latency_p99,
            "p99 target response time (seconds)",
        ),
        "healthy_hosts": both_groups_alarm(
            *shared,
            "HealthyHostsAlarm",
            "HealthyHostCount",
            "Minimum",
            "FILL(blue, 0) + FILL(green, 0)",
            "LessThanThreshold",
            alarms.healthy_hosts,
            "healthy targets",
            notify=notifies_directly(config, "healthy_hosts"),
        ),
    }
    created["running_tasks"] = template.add_resource(
        cloudwatch.Alarm(
            "RunningTasksAlarm",
            AlarmName=alarm_name_in_template(config, "runningtasks"),
            AlarmDescription=Sub(f"{SERVICE_NAME_IN_SUB}: running tasks (CPU samples per period, which needs no Container Insights)"),
            Namespace="AWS/ECS",
            MetricName="CPUUtilization",
            Dimensions=[
                cloudwatch.MetricDimension(Name="ClusterName", Value=Ref(params[names.CLUSTER_NAME])),
                cloudwatch.MetricDimension(Name="ServiceName", Value=named(config)),
            ],
            Statistic="SampleCount",
            Period=alarms.running_tasks.period_seconds,
            ComparisonOperator="LessThanThreshold",
            **alarm_settings(alarms.running_tasks, params, notifies_directly(config, "running_tasks")),
        )
    )
    created["error_logs"] = add_error_log_alarm(template, config, params)
    return created


ERROR_LOG_PATTERN = '{ $.level = "ERROR" }'


def error_log_metric(config: Config, service_name: str) -> tuple[str, str]:
    """(namespace, metric name) of the count of a service's ERROR log lines."""
    return f"{config.project.name}/{config.target}", f"{service_name}-error-log-lines"


def add_error_log_alarm(template: Template, config: Config, params) -> cloudwatch.Alarm:
    namespace, metric = error_log_metric(config, SERVICE_NAME_IN_SUB)
    metric = Sub(metric)
    template.add_resource(
        logs.MetricFilter(
            "ErrorLogMetricFilter",
            LogGroupName=Ref("LogGroup"),
            FilterPattern=ERROR_LOG_PATTERN,
            MetricTransformations=[
                logs.MetricTransformation(MetricNamespace=namespace, MetricName=metric, MetricValue="1", DefaultValue=0)
            ],
        )
    )
    spec = config.environment.alarms.error_logs
    return template.add_resource(
        cloudwatch.Alarm(
            "ErrorLogsAlarm",
            AlarmName=alarm_name_in_template(config, "errorlogs"),
            AlarmDescription=Sub(f"{SERVICE_NAME_IN_SUB}: ERROR log lines"),
            Namespace=namespace,
            MetricName=metric,
            Statistic="Sum",
            Period=spec.period_seconds,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            **alarm_settings(spec, params),
        )
    )


# The hook function gives up after HOOK_MAX_WAIT_SECONDS (10 minutes); ECS waits a little longer.
HOOK_TIMEOUT_MINUTES = 15

# Alarms that roll a deployment back: they judge the new revision's behaviour.
ROLLBACK_ALARMS = ("target_5xx", "latency_p99")


# --- the service -------------------------------------------------------------------------


def add_service(template, config, params, task_definition, security_group, groups, rules, alarms) -> ecs.Service:
    settings = config.environment.services
    hook_details = {
        "serviceName": Ref(params[SERVICE_NAME]),
        "testListenerRuleArn": Ref(rules["Test"]),
        "port": Ref(params[CONTAINER_PORT]),  # a string once resolved; the hook accepts both
        "healthPath": Ref(params[HEALTH_CHECK_PATH]),
    }
    return template.add_resource(
        ecs.Service(
            "Service",
            ServiceName=named(config),
            Cluster=Ref(params[names.CLUSTER_NAME]),
            TaskDefinition=Ref(task_definition),
            DesiredCount=If(RUNNING, settings.scaling.min_tasks, 0),
            HealthCheckGracePeriodSeconds=settings.health_check.grace_period_seconds,
            NetworkConfiguration=ecs.NetworkConfiguration(
                AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                    Subnets=Ref(params[names.PRIVATE_SUBNET_IDS]), SecurityGroups=[Ref(security_group)], AssignPublicIp="DISABLED"
                )
            ),
            LoadBalancers=[
                ecs.LoadBalancer(
                    ContainerName=CONTAINER,
                    ContainerPort=Ref(params[CONTAINER_PORT]),
                    TargetGroupArn=Ref(groups[BLUE]),
                    AdvancedConfiguration=ecs.AdvancedConfiguration(
                        AlternateTargetGroupArn=Ref(groups[GREEN]),
                        ProductionListenerRule=Ref(rules["Production"]),
                        TestListenerRule=Ref(rules["Test"]),
                        RoleArn=GetAtt("BlueGreenRole", "Arn"),
                    ),
                )
            ],
            DeploymentController=ecs.DeploymentController(Type="ECS"),
            DeploymentConfiguration=ecs.DeploymentConfiguration(
                Strategy="BLUE_GREEN",
                BakeTimeInMinutes=settings.bake_time_minutes,
                MaximumPercent=200,
                MinimumHealthyPercent=100,
                # No DeploymentCircuitBreaker: it applies to rolling updates only (CloudFormation,
                # AWS::ECS::Service DeploymentCircuitBreaker).  Blue/green rolls back on the hook's
                # FAILED, the alarms below and the hook's timeout.
                Alarms=ecs.DeploymentAlarms(AlarmNames=[Ref(alarms[name]) for name in ROLLBACK_ALARMS], Enable=True, Rollback=True),
                LifecycleHooks=[
                    ecs.DeploymentLifecycleHook(
                        HookTargetArn=Ref(params[names.HOOK_FUNCTION_ARN]),
                        RoleArn=GetAtt("LifecycleHookRole", "Arn"),
                        LifecycleStages=["POST_TEST_TRAFFIC_SHIFT"],
                        HookDetails=hook_details,
                        # A backstop beyond the hook's own bound: ECS rolls back if the hook never answers.
                        TimeoutConfiguration=ecs.HookTimeoutConfig(TimeoutInMinutes=HOOK_TIMEOUT_MINUTES, Action="ROLLBACK"),
                    )
                ],
            ),
            PropagateTags="SERVICE",
            EnableECSManagedTags=True,
            Tags=tags(config, Service=Ref(params[SERVICE_NAME])),
        )
    )


def add_autoscaling(template: Template, config: Config, params, ecs_service, groups) -> scaling.ScalableTarget:
    settings = config.environment.services.scaling
    target = template.add_resource(
        scaling.ScalableTarget(
            "ScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Join("/", ["service", Ref(params[names.CLUSTER_NAME]), GetAtt(ecs_service, "Name")]),
            MinCapacity=If(RUNNING, settings.min_tasks, 0),
            MaxCapacity=If(RUNNING, settings.max_tasks, 0),
            ScheduledActions=off_hours_actions(config) or Ref("AWS::NoValue"),
        )
    )
    cpu = scaling.PredefinedMetricSpecification(PredefinedMetricType="ECSServiceAverageCPUUtilization")
    add_tracking_policy(template, config, target, "Cpu", settings.cpu_target_percent, PredefinedMetricSpecification=cpu)
    add_tracking_policy(
        template,
        config,
        target,
        "Requests",
        settings.requests_per_target,
        CustomizedMetricSpecification=requests_per_task(params, groups),
    )
    return target


def add_tracking_policy(template: Template, config: Config, target, name: str, value: int, **metric):
    """A target-tracking policy holding ``value`` of the given metric, with the environment's cooldowns."""
    settings = config.environment.services.scaling
    return template.add_resource(
        scaling.ScalingPolicy(
            f"{name}ScalingPolicy",
            PolicyName=named(config, f"-{name.lower()}"),
            PolicyType="TargetTrackingScaling",
            ScalingTargetId=Ref(target),
            TargetTrackingScalingPolicyConfiguration=scaling.TargetTrackingScalingPolicyConfiguration(
                TargetValue=float(value),
                ScaleInCooldown=settings.scale_in_cooldown_seconds,
                ScaleOutCooldown=settings.scale_out_cooldown_seconds,
                **metric,
            ),
        )
    )


def requests_per_task(params, groups) -> scaling.CustomizedMetricSpecification:
    """ALB requests per target over whichever target group is live (blue and green alternate)."""

    def query(colour: str) -> scaling.TargetTrackingMetricDataQuery:
        return scaling.TargetTrackingMetricDataQuery(
            Id=colour.lower(),
            ReturnData=False,
            MetricStat=scaling.TargetTrackingMetricStat(
                Metric=scaling.TargetTrackingMetric(
                    Namespace="AWS/ApplicationELB",
                    MetricName="RequestCountPerTarget",
                    Dimensions=[
                        scaling.TargetTrackingMetricDimension(Name="TargetGroup", Value=GetAtt(groups[colour], "TargetGroupFullName"))
                    ],
                ),
                Stat="Sum",
            ),
        )

    return scaling.CustomizedMetricSpecification(
        Metrics=[
            query(BLUE),
            query(GREEN),
            scaling.TargetTrackingMetricDataQuery(Id="live", Expression="FILL(blue, 0) + FILL(green, 0)", ReturnData=True),
        ]
    )


def off_hours_actions(config: Config) -> list[scaling.ScheduledAction]:
    settings = config.environment.services.scaling
    hours = settings.off_hours
    if not hours.stop:
        return []
    return [
        scaling.ScheduledAction(
            ScheduledActionName="stop-outside-working-hours",
            Schedule=hours.stop,
            Timezone=hours.timezone,
            ScalableTargetAction=scaling.ScalableTargetAction(MinCapacity=0, MaxCapacity=0),
        ),
        scaling.ScheduledAction(
            ScheduledActionName="start-for-working-hours",
            Schedule=hours.start,
            Timezone=hours.timezone,
            ScalableTargetAction=scaling.ScalableTargetAction(
                MinCapacity=If(RUNNING, settings.min_tasks, 0), MaxCapacity=If(RUNNING, settings.max_tasks, 0)
            ),
        ),
    ]


def build(config: Config, service: Service) -> Template:
    """The template of ``service``'s stack; services differing only in ``service_values`` get equal ones."""
    template = new_template(f"{config.stack_prefix}: an ECS service with blue/green deployments (its name and settings are parameters)")
    params = add_parameters(template)
    key_arn = Ref(params[names.ENVIRONMENT_KEY_ARN])
    group = log_group(template, "LogGroup", config, names.retained_name(f"/ecs/{config.stack_prefix}/{SERVICE_NAME_IN_SUB}"), key_arn)
    secret = add_secret(template, config, key_arn)
    settings = add_settings(template, config)
    execution_role = add_execution_role(template, config, group, secret, settings, key_arn)
    task_role = add_task_role(template, settings)
    task_definition = add_task_definition(template, config, service, params, group, secret, settings, execution_role, task_role)
    groups = add_target_groups(template, config, params)
    rules = add_listener_rules(template, params, groups)
    security_group = add_security_group(template, config, params)
    add_load_balancer_role(template, groups, rules)
    add_hook_role(template, params)
    alarms = add_alarms(template, config, params, groups)
    ecs_service = add_service(template, config, params, task_definition, security_group, groups, rules, alarms)
    add_autoscaling(template, config, params, ecs_service, groups)
    outputs = {
        "ServiceName": GetAtt(ecs_service, "Name"),
        "BlueTargetGroup": GetAtt(groups[BLUE], "TargetGroupFullName"),
        "GreenTargetGroup": GetAtt(groups[GREEN], "TargetGroupFullName"),
        "LogGroupName": Ref(group),
    }
    for what, value in outputs.items():
        template.add_output(Output(what, Value=value))
    return template
