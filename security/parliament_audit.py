"""parliament over every identity policy, after intrinsic functions become sample ARNs.

parliament checks action names, resource types against actions, and condition
keys.  It reads literal JSON, so ``Sub``, ``Ref`` and ``GetAtt`` are first
replaced with well-formed ARNs of the right resource type.

Suppressed findings live in ``SUPPRESSED`` below, each with its reason: that is
the one place to add a justified exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from parliament import analyze_policy_string

from security.policies_in_templates import policies

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "sample-stack",
    "AWS::URLSuffix": "amazonaws.com",
}

# Sample values for Ref/GetAtt of each resource type, by attribute ("Ref" for Ref).
SAMPLES = {
    ("AWS::S3::Bucket", "Ref"): "sample-bucket",
    ("AWS::S3::Bucket", "Arn"): "arn:aws:s3:::sample-bucket",
    ("AWS::Logs::LogGroup", "Ref"): "sample-log-group",
    ("AWS::Logs::LogGroup", "Arn"): "arn:aws:logs:us-east-1:123456789012:log-group:sample-log-group:*",
    ("AWS::KMS::Key", "Arn"): "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    ("AWS::KMS::Key", "Ref"): "11111111-2222-3333-4444-555555555555",
    ("AWS::IAM::Role", "Arn"): "arn:aws:iam::123456789012:role/sample-role",
    ("AWS::IAM::Role", "Ref"): "sample-role",
    ("AWS::SecretsManager::Secret", "Ref"): "arn:aws:secretsmanager:us-east-1:123456789012:secret:sample-AbCdEf",
    ("AWS::SNS::Topic", "Ref"): "arn:aws:sns:us-east-1:123456789012:sample-topic",
    ("AWS::SNS::Topic", "TopicArn"): "arn:aws:sns:us-east-1:123456789012:sample-topic",
    ("AWS::Lambda::Function", "Arn"): "arn:aws:lambda:us-east-1:123456789012:function:sample-function",
    ("AWS::Lambda::Function", "Ref"): "sample-function",
    ("AWS::ECR::Repository", "Arn"): "arn:aws:ecr:us-east-1:123456789012:repository/sample/repository",
    ("AWS::ECR::Repository", "Ref"): "sample/repository",
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Ref"): (
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/sample/0123456789abcdef"
    ),
    ("AWS::ElasticLoadBalancingV2::ListenerRule", "Ref"): (
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/sample/0123456789abcdef/0123456789abcdef/0123456789abcdef"
    ),
    ("AWS::SSM::Parameter", "Ref"): "/sample/parameter",
    ("AWS::CodeBuild::Project", "Arn"): "arn:aws:codebuild:us-east-1:123456789012:project/sample-project",
    ("AWS::CodeBuild::Project", "Ref"): "sample-project",
    ("AWS::CodePipeline::Pipeline", "Ref"): "sample-pipeline",
    ("AWS::ECS::Cluster", "Ref"): "sample-cluster",
    ("AWS::ECS::Cluster", "Arn"): "arn:aws:ecs:us-east-1:123456789012:cluster/sample-cluster",
    ("AWS::ECS::Service", "Name"): "sample-service",
    ("AWS::KinesisFirehose::DeliveryStream", "Arn"): "arn:aws:firehose:us-east-1:123456789012:deliverystream/sample-stream",
}
# Parameters passed in from sibling stacks, by name suffix.
PARAMETER_SAMPLES = {
    "KeyArn": SAMPLES[("AWS::KMS::Key", "Arn")],
    "TopicArn": SAMPLES[("AWS::SNS::Topic", "Ref")],
    "FunctionArn": SAMPLES[("AWS::Lambda::Function", "Arn")],
    "RoleArn": SAMPLES[("AWS::IAM::Role", "Arn")],
    "ListenerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/sample/0123456789abcdef/0123456789abcdef",
    "Bucket": "sample-bucket",
    "ClusterName": "sample-cluster",
    "ClusterArn": SAMPLES[("AWS::ECS::Cluster", "Arn")],
}

# (issue, substring of the finding's detail) -> reason.  The one place to add one.
SUPPRESSED: dict[tuple[str, str], str] = {
    ("RESOURCE_MISMATCH", "'action': 'elasticloadbalancing:ModifyRule'"): (
        "parliament 1.6.4 requires a resource of every type ModifyRule lists (listener-rule/app and listener-rule/net), "
        "but they are alternatives: the rules ECS shifts are ALB rules (listener-rule/app), which is all the role needs"
    ),
    **{
        ("RESOURCE_MISMATCH", f"'action': 'kms:{verb}', 'required_format': 'arn:*:kms:*:*:{other}/*'"): (
            "parliament wants the alias and the key of an alias call in one statement; IAM authorizes each resource on its own: "
            "the deploy role grants the alias by the environment's name and the key by its Target tag"
        )
        for verb in ("CreateAlias", "DeleteAlias", "UpdateAlias")
        for other in ("key", "alias")
    },
    ("UNKNOWN_CONDITION_FOR_ACTION", "Unknown condition elasticloadbalancing:CreateAction for action elasticloadbalancing:AddTags"): (
        "parliament 1.6.4 checks the key against AddTags' resource types only; its own copy of the Service Authorization "
        "Reference lists elasticloadbalancing:CreateAction among the action's condition keys (tagging while creating)"
    ),
    **{
        ("UNKNOWN_ACTION", f"Unknown action {action}"): (
            "newer than parliament 1.6.4's action data; cfn-lint's IAM action list (W3037) knows it, and a CloudFormation "
            "handler's registry schema declares it"
        )
        for action in (
            "elasticloadbalancing:ModifyIpPools",
            "s3:PutBucketAbac",
            "s3:GetBucketAbac",
            "logs:PutLogGroupDeletionProtection",
            "lambda:PutFunctionScalingConfig",
            "lambda:GetFunctionScalingConfig",
            "ecs:StopServiceDeployment",
            "ec2:DescribeVpcEncryptionControls",
        )
    },
}


@dataclass(frozen=True)
class ParliamentFinding:
    template: str
    resource: str
    where: str
    issue: str
    detail: str

    def __str__(self) -> str:
        return f"{self.template}: {self.resource}: {self.where}: {self.issue}: {self.detail}"


class Sampler:
    """Replaces intrinsic functions in a policy with sample literals."""

    def __init__(self, template: dict):
        self.resources = template.get("Resources", {})
        self.parameters = template.get("Parameters", {})

    def reference(self, name: str, attribute: str = "Ref") -> str:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.resources:
            kind = self.resources[name]["Type"]
            return SAMPLES.get((kind, attribute), f"sample-{name.lower()}")
        for suffix, sample in PARAMETER_SAMPLES.items():
            if name.endswith(suffix):
                return sample
        return f"sample-{name.lower()}"

    def sub(self, text: str, variables: dict) -> str:
        def replace(match: re.Match) -> str:
            key = match.group(1)
            if key in variables:
                return str(self.resolve(variables[key]))
            name, _, attribute = key.partition(".")
            return self.reference(name, attribute or "Ref")

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self.reference(value["Ref"])
        if "Fn::GetAtt" in value:
            return self.reference(*value["Fn::GetAtt"])
        if "Fn::Sub" in value:
            text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            return self.sub(text, variables)
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self.resolve(p)) for p in parts)
        return {k: self.resolve(v) for k, v in value.items()}


def suppressed(issue: str, detail: str) -> bool:
    return any(issue == s_issue and fragment in detail for s_issue, fragment in SUPPRESSED)


def audit(template_name: str, template: dict) -> list[ParliamentFinding]:
    sampler = Sampler(template)
    found = []
    for policy in policies(template_name, template):
        if policy.kind != "identity":
            continue
        document = json.dumps(sampler.resolve(policy.document))
        for finding in analyze_policy_string(document).findings:
            detail = str(finding.detail)
            if not suppressed(finding.issue, detail):
                found.append(ParliamentFinding(template_name, policy.resource, policy.where, finding.issue, detail))
    return found
