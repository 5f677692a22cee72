"""awacs statement factories: the one home of every IAM statement.

Statements are scoped to the ARNs of the resources they act on.  The few
actions AWS offers on no narrower resource are listed once, in
``WILDCARD_RESOURCE_ACTIONS``, each with its reason; ``wildcard_statement``
is the only way to grant ``Resource: "*"`` and it refuses anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs.aws import Action as AwacsAction
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals, StringLike
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


@dataclass(frozen=True)
class Trust:
    """Who assumes a kind of role, and the conditions its trust policy carries: only those the service's own
    documentation puts there (confused-deputy prevention).  A positive condition on a key the service does not send
    denies every use of the role, so where a page documents none, there is none.  docs/security.md lists them."""

    principal: Any  # the service principal: a name, or a Sub for a regional one
    role: str  # what the role is for
    conditions: dict  # condition operator -> {key: value}, as IAM writes them
    page: str  # the AWS page that documents the trust policy


ACCOUNT = Sub("${AWS::AccountId}")
SOURCE_ACCOUNT = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}

TRUSTS = {
    "cloudformation": Trust(
        "cloudformation.amazonaws.com", "a CloudFormation service role (an environment's deploy role)", {},
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html",
    ),
    "codebuild": Trust(
        "codebuild.amazonaws.com", "a CodeBuild project's service role", SOURCE_ACCOUNT,
        "https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html",
    ),
    "codepipeline": Trust(
        "codepipeline.amazonaws.com", "the pipeline's service role", {},
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-service-role-cli.html",
    ),
    "ecs-task": Trust(
        "ecs-tasks.amazonaws.com", "a task role (what the running code may do)",
        {**SOURCE_ACCOUNT, "ArnLike": {"aws:SourceArn": Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*")}},
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html",
    ),
    "ecs-execution": Trust(
        "ecs-tasks.amazonaws.com", "a task execution role (what ECS needs to start the task)", {},
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html",
    ),
    "ecs": Trust(
        "ecs.amazonaws.com", "the blue/green roles ECS assumes (shifting traffic, invoking the hook)", {},
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-permissions.html",
    ),
    "events": Trust(
        "events.amazonaws.com", "an EventBridge rule's role starting the pipeline", {},
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-trigger-source-repo-changes-cli.html",
    ),
    "scheduler": Trust(
        "scheduler.amazonaws.com", "an EventBridge Scheduler schedule's execution role", SOURCE_ACCOUNT,
        "https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html",
    ),
    "firehose": Trust(
        "firehose.amazonaws.com", "a Firehose stream's role writing to S3", {"StringEquals": {"sts:ExternalId": ACCOUNT}},
        "https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html",
    ),
    "logs": Trust(
        Sub("logs.${AWS::Region}.${AWS::URLSuffix}"), "a CloudWatch Logs subscription filter's role putting records into Firehose",
        {"StringLike": {"aws:SourceArn": Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*")}},
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html",
    ),
    "vpc-flow-logs": Trust(
        "vpc-flow-logs.amazonaws.com", "the role VPC Flow Logs publish to CloudWatch Logs with", SOURCE_ACCOUNT,
        "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-cwl.html",
    ),
    "lambda": Trust(
        "lambda.amazonaws.com", "a Lambda function's execution role", {},
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
    ),
}  # fmt: skip


def trust(kind: str) -> PolicyDocument:
    """The trust policy of a role of ``kind`` (``TRUSTS``): its service may assume it, on the documented conditions."""
    found = TRUSTS[kind]
    policy = make_simple_assume_policy(found.principal)
    if found.conditions:
        policy.Statement[0].Condition = Condition([CONDITION_TYPES[op](values) for op, values in found.conditions.items()])
    return policy


CONDITION_TYPES = {"StringEquals": StringEquals, "StringLike": StringLike, "ArnLike": ArnLike}


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
