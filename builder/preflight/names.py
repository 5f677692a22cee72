"""Name limits, checked on the names CloudFormation will pass to each service (resolved).

Sources (each service's API reference for the create call):
- Lambda function: 64 characters (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html, FunctionName).
- IAM role: 64 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html, "Role name").
- Target group and load balancer: 32, alphanumerics and hyphens, not starting or ending with a hyphen
  (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html, Name).
- S3 bucket: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
- CloudWatch Logs log group: 512 (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html).
- EventBridge rule: 64 (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html, Name).
- EventBridge Scheduler schedule: 1 to 64 letters, digits, hyphens, underscores and dots
  (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html, Name; the registry schema agrees).
- Stack name: a letter, then letters, digits and hyphens, at most 128 characters
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html, StackName).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from builder.preflight.model import Finding, Report
from builder.preflight.resolve import Target
from templates.config.rules import STACK_NAME  # the configuration refuses target files that cannot fit it

RULE = "name"


@dataclass(frozen=True)
class NameRule:
    pattern: re.Pattern
    accepted: str


def _length(limit: int) -> NameRule:
    return NameRule(re.compile(f".{{1,{limit}}}", re.S), f"at most {limit} characters")


SCHEDULE_NAME = NameRule(re.compile(r"[0-9a-zA-Z_.-]{1,64}"), "1 to 64 letters, digits, hyphens, underscores, dots")
ELB_NAME = NameRule(re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?"), "32 letters, digits, hyphens; no hyphen first or last")
NAME_RULES = {
    "AWS::Lambda::Function": ("FunctionName", _length(64)),
    "AWS::IAM::Role": ("RoleName", _length(64)),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ("Name", ELB_NAME),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("Name", ELB_NAME),
    "AWS::S3::Bucket": (
        "BucketName",
        NameRule(re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"), "3 to 63 lowercase letters, digits, dots, hyphens"),
    ),
    "AWS::Logs::LogGroup": ("LogGroupName", _length(512)),
    "AWS::Events::Rule": ("Name", _length(64)),
    "AWS::Scheduler::Schedule": ("Name", SCHEDULE_NAME),
}


def _check_name(report: Report, where: tuple[str, str, str], name: str, rule: NameRule) -> None:
    ok = isinstance(name, str) and rule.pattern.fullmatch(name) is not None
    report.check(RULE, ok, Finding(*where, RULE, f"{name!r} ({len(str(name))} characters)", rule.accepted))


STACK_RULE = NameRule(STACK_NAME, "a letter, then letters, digits and hyphens, at most 128 characters")


def check(target: Target) -> Report:
    report = Report()
    _check_name(report, (target.name, target.root.file, "stack"), target.root.stack_name, STACK_RULE)
    for stack, logical_id, body in target.resources(*NAME_RULES):
        prop, rule = NAME_RULES[body["Type"]]
        name = stack.properties(logical_id).get(prop)
        if name is not None:  # a generated name is cut to the service's limit by CloudFormation
            _check_name(report, (target.name, stack.file, logical_id), name, rule)
    for stack, logical_id, _ in target.resources("AWS::CodePipeline::Pipeline"):
        for stage in stack.properties(logical_id).get("Stages", []):
            for action in stage.get("Actions", []):
                name = action.get("Configuration", {}).get("StackName")
                if name is not None:
                    _check_name(report, (target.name, stack.file, f"{logical_id} action {action['Name']}.StackName"), name, STACK_RULE)
    return report
