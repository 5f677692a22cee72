"""awacs statement factories: the one home of every IAM statement.

Statements are scoped to the ARNs of the resources they act on.  The few
actions AWS offers on no narrower resource are listed once, in
``WILDCARD_RESOURCE_ACTIONS``, each with its reason; ``wildcard_statement``
is the only way to grant ``Resource: "*"`` and it refuses anything else.
"""

from __future__ import annotations

from awacs.aws import Action as AwacsAction
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.helpers.trust import make_simple_assume_policy
from troposphere import Sub

# Actions whose IAM resource type is "*": AWS evaluates them on no narrower
# resource, so scoping them is impossible.  Each entry says why it is needed.
WILDCARD_RESOURCE_ACTIONS = {
    "ecr:GetAuthorizationToken": "the registry login token is account-wide; image pulls themselves are scoped to a repository",
    "cloudwatch:PutMetricData": "metrics have no ARN; the namespace is pinned with a cloudwatch:namespace condition",
    "ec2:DescribeNetworkInterfaces": "Describe calls are not resource-scoped in EC2; a VPC Lambda needs it to manage its ENIs",
    "elasticloadbalancing:DescribeRules": "Describe calls are not resource-scoped in Elastic Load Balancing",
    "elasticloadbalancing:DescribeTargetHealth": "Describe calls are not resource-scoped in Elastic Load Balancing",
    "elasticloadbalancing:DescribeTargetGroups": "Describe calls are not resource-scoped in Elastic Load Balancing",
    "elasticloadbalancing:DescribeListeners": "Describe calls are not resource-scoped in Elastic Load Balancing",
    "codepipeline:PutJobSuccessResult": "job results take a job id, not a resource ARN",
    "codepipeline:PutJobFailureResult": "job results take a job id, not a resource ARN",
    # What CloudFormation calls while it deploys an environment for the pipeline's deploy role.
    "cloudformation:ValidateTemplate": "template validation acts on a template body, not a stack",
    "kms:CreateKey": "a key has no ARN before it exists; the deploy role's grant requires the environment's tags on the request",
    "kms:ListAliases": "listing aliases is account-wide; CloudFormation's alias handler reads it",
    "secretsmanager:GetRandomPassword": "generating a password touches no secret; CloudFormation calls it for GenerateSecretString",
    "logs:DescribeLogGroups": "Describe calls are not resource-scoped in CloudWatch Logs",
    "ecs:DeregisterTaskDefinition": "task definition revisions are deregistered by ARN but IAM evaluates the call on no resource",
    "ecs:DescribeTaskDefinition": "Describe calls are not resource-scoped for ECS task definitions",
    "application-autoscaling:DescribeScalableTargets": "Describe calls are not resource-scoped in Application Auto Scaling",
    "application-autoscaling:DescribeScalingPolicies": "Describe calls are not resource-scoped in Application Auto Scaling",
    "application-autoscaling:DescribeScheduledActions": "Describe calls are not resource-scoped in Application Auto Scaling",
    "elasticloadbalancing:DescribeLoadBalancers": "Describe calls are not resource-scoped in Elastic Load Balancing",
    "elasticloadbalancing:DescribeLoadBalancerAttributes": "Describe calls are not resource-scoped in Elastic Load Balancing",
    "elasticloadbalancing:DescribeTargetGroupAttributes": "Describe calls are not resource-scoped in Elastic Load Balancing",
    "elasticloadbalancing:DescribeListenerAttributes": "Describe calls are not resource-scoped in Elastic Load Balancing",
    "elasticloadbalancing:DescribeTags": "Describe calls are not resource-scoped in Elastic Load Balancing",
    "ec2:DescribeVpcs": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeSubnets": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeSecurityGroups": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeRouteTables": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeInternetGateways": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeAddresses": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeNatGateways": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeVpcEndpoints": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeFlowLogs": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribePrefixLists": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeAvailabilityZones": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeAccountAttributes": "Describe calls are not resource-scoped in EC2",
    "logs:PutQueryDefinition": "saved Logs Insights queries have no resource ARN",
    "logs:DeleteQueryDefinition": "saved Logs Insights queries have no resource ARN",
    "logs:DescribeQueryDefinitions": "saved Logs Insights queries have no resource ARN",
    "sns:GetSubscriptionAttributes": "subscriptions are not resource-scoped in SNS's authorization model",
    "sns:Unsubscribe": "subscriptions are not resource-scoped in SNS's authorization model",
    "sns:SetSubscriptionAttributes": "subscriptions are not resource-scoped in SNS's authorization model",
    "autoscaling:DescribeTags": "Describe calls are not resource-scoped in EC2 Auto Scaling",
    "cloudwatch:GetMetricData": "metric reads name no resource in CloudWatch's authorization model",
    "ec2:DescribeInstances": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeIpamPools": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeNetworkAcls": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeTags": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeVpnGateways": "Describe calls are not resource-scoped in EC2",
    "ec2:DescribeVpcEncryptionControls": "Describe calls are not resource-scoped in EC2",
    "elasticloadbalancing:DescribeCapacityReservation": "Describe calls are not resource-scoped in Elastic Load Balancing",
    "logs:DescribeIndexPolicies": "Describe calls are not resource-scoped in CloudWatch Logs",
    "logs:DescribeResourcePolicies": "Describe calls are not resource-scoped in CloudWatch Logs",
    "logs:CreateLogDelivery": "log deliveries (flow logs, vended logs) have no resource type in CloudWatch Logs",
    "logs:DeleteLogDelivery": "log deliveries (flow logs, vended logs) have no resource type in CloudWatch Logs",
    "route53:ListHostedZones": "listing hosted zones is account-wide (no resource type); CloudFormation's record-set handler calls it",
}


def action(name: str) -> AwacsAction:
    prefix, _, verb = name.partition(":")
    return AwacsAction(prefix, verb)


def arn(resource: str) -> Sub:
    """A partition- and account-agnostic ARN: arn(":logs:${AWS::Region}:${AWS::AccountId}:log-group:x")."""
    return Sub("arn:${AWS::Partition}" + resource)


def allow(actions: list[str], resources: list, sid: str = "", condition: Condition | None = None) -> Statement:
    """An Allow statement on named resources; "*" is refused here (see wildcard_statement)."""
    if any(resource == "*" for resource in resources):
        raise ValueError(f"{actions}: Resource '*' only through wildcard_statement")
    kwargs = {"Condition": condition} if condition else {}
    if sid:
        kwargs["Sid"] = sid
    return Statement(Effect=Allow, Action=[action(a) for a in actions], Resource=resources, **kwargs)


def wildcard_statement(actions: list[str], sid: str = "", condition: Condition | None = None) -> Statement:
    """The only statement with Resource "*"; every action must be a listed exception."""
    unlisted = [a for a in actions if a not in WILDCARD_RESOURCE_ACTIONS]
    if unlisted:
        raise ValueError(f"{unlisted} are not in WILDCARD_RESOURCE_ACTIONS; scope them to a resource")
    kwargs = {"Condition": condition} if condition else {}
    if sid:
        kwargs["Sid"] = sid
    return Statement(Effect=Allow, Action=[action(a) for a in actions], Resource=["*"], **kwargs)


def document(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def trust(service: str, source_account_condition: bool = True) -> PolicyDocument:
    """Trust policy for an AWS service principal, limited to this account's callers."""
    policy = make_simple_assume_policy(service)
    if source_account_condition:
        policy.Statement[0].Condition = Condition(StringEquals({"aws:SourceAccount": Sub("${AWS::AccountId}")}))
    return policy


def service_principal(services) -> Principal:
    """One service principal, or several (a list)."""
    return Principal("Service", list(services) if isinstance(services, (list, tuple)) else [services])


def log_group_arn(log_group_name) -> Sub:
    """ARN of a log group's streams, for logs:CreateLogStream and logs:PutLogEvents."""
    return Sub(
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Name}:*",
        Name=log_group_name,
    )


def write_logs(log_group_name) -> Statement:
    return allow(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], [log_group_arn(log_group_name)])
