"""Intrinsic functions resolved offline, over a root template and its nested stacks together.

AWS measures what it receives after CloudFormation has resolved every intrinsic function: an IAM policy's size,
a CodePipeline configuration value, a name's length. This module turns a rendered target into those values,
with pseudo parameters and physical ids chosen worst-case-realistic where size matters: the longest partition
in use (``aws-us-gov``), a 12-digit account id, a long region name, and generated ids of the length and shape
CloudFormation gives them (stack name, logical id and a 12- or 13-character suffix).

Supported: Ref, Fn::GetAtt (resource attributes and ``Outputs.X`` of nested stacks), Fn::Sub, Fn::Join,
Fn::Select, Fn::Split, Fn::If with Conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition), Fn::FindInMap,
Fn::ImportValue, Fn::GetAZs, Fn::Base64, Fn::Cidr, Fn::Length, Fn::ToJsonString, and AWS::NoValue.
A child stack's parameters are the values its parent passes, resolved in the parent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property

from templates import names

NO_VALUE = object()  # Ref AWS::NoValue: the property is dropped


@dataclass(frozen=True)
class Pseudo:
    """Pseudo parameter values; the defaults are the longest realistic ones, so sizes are worst case."""

    partition: str = "aws-us-gov"
    account_id: str = "123456789012"
    region: str = "ap-southeast-5"
    url_suffix: str = "amazonaws.com"


DEFAULT_PSEUDO = Pseudo()

# Root parameters deploy.py fills at deploy time: realistic, long values. The assets bucket has a name
# CloudFormation generates for the bootstrap stack, so it can be as long as a bucket name gets (63).
ROOT_PARAMETER_SAMPLES = {
    names.ASSETS_BUCKET: ("bootstrap-assetsbucket-" + "0a1b2c3d4e5f" * 4)[:63],
    names.HEALTH_CHECK_CODE_KEY: "targets/production/lambda/health_check/" + "0123456789abcdef" * 4 + ".zip",
    # an S3 version id: 32 URL-safe characters
    names.code_version_parameter(names.HEALTH_CHECK_CODE_KEY): "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
    names.IMAGE_TAG: "0123456789abcdef0123456789abcdef01234567",
}


def _suffix(seed: str, length: int) -> str:
    """A deterministic stand-in for the random suffix CloudFormation appends to generated names."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length].upper()


def generated_name(stack_name: str, logical_id: str, limit: int = 255, suffix: int = 12) -> str:
    """CloudFormation's generated physical name: stack name, logical id and a random suffix, within ``limit``.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html
    """
    tail = _suffix(stack_name + logical_id, suffix)
    head = f"{stack_name}-{logical_id}"[: limit - suffix - 1]
    return f"{head}-{tail}"


class Unresolvable(Exception):
    """A value the resolver cannot know offline (it is reported once, never guessed)."""


class Stack:
    """One template of a target, with the parameter values its parent passes."""

    def __init__(self, target: Target, file: str, template: dict, stack_name: str, parameters: dict):
        self.target = target
        self.file = file
        self.template = template
        self.stack_name = stack_name
        self.parameters = parameters
        self.pseudo = target.pseudo

    @property
    def resources(self) -> dict[str, dict]:
        return self.template.get("Resources", {})

    @cached_property
    def conditions(self) -> dict[str, bool]:
        results: dict[str, bool] = {}
        for name in self.template.get("Conditions", {}):
            results[name] = self._condition(name, results)
        return results

    def _condition(self, name: str, results: dict[str, bool]) -> bool:
        if name not in results:
            results[name] = bool(self._evaluate_condition(self.template["Conditions"][name], results))
        return results[name]

    def _evaluate_condition(self, value, results):
        if isinstance(value, dict) and len(value) == 1:
            ((key, args),) = value.items()
            if key == "Condition":
                return self._condition(args, results)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) if not _is_condition_fn(a) else self._evaluate_condition(a, results) for a in args)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._evaluate_condition(args[0], results)
            if key == "Fn::And":
                return all(self._evaluate_condition(a, results) for a in args)
            if key == "Fn::Or":
                return any(self._evaluate_condition(a, results) for a in args)
        return self.resolve(value)

    def active(self, logical_id: str) -> bool:
        """False when the resource's Condition is false: CloudFormation does not create it."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.conditions[condition]

    def properties(self, logical_id: str) -> dict:
        return self.target.resolved_properties(self, logical_id)

    # --- values of resources -------------------------------------------------

    def physical_id(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        kind = resource["Type"]
        if kind == "AWS::CloudFormation::Stack":
            return self.arn("cloudformation", f"stack/{self.target.child_stack_name(self, logical_id)}/{_uuid(logical_id)}")
        explicit = _explicit_name(kind, resource.get("Properties", {}))
        name = self.resolve(explicit) if explicit is not None else generated_name(self.stack_name, logical_id, _name_limit(kind))
        return physical_ref(self, kind, logical_id, name)

    def attribute(self, logical_id: str, attribute: str):
        if logical_id not in self.resources:
            raise Unresolvable(f"GetAtt {logical_id}.{attribute}: no such resource")
        resource = self.resources[logical_id]
        if resource["Type"] == "AWS::CloudFormation::Stack" and attribute.startswith("Outputs."):
            child = self.target.child(self, logical_id)
            output = child.template.get("Outputs", {}).get(attribute.split(".", 1)[1])
            if output is None:
                raise Unresolvable(f"GetAtt {logical_id}.{attribute}: the child has no such output")
            return child.resolve(output["Value"])
        return resource_attribute(self, logical_id, attribute)

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        p = self.pseudo
        return f"arn:{p.partition}:{service}:{p.region if region else ''}:{p.account_id if account else ''}:{resource}"

    # --- intrinsic functions -------------------------------------------------

    def resolve(self, value):
        """The value CloudFormation would pass to the resource: every intrinsic function replaced."""
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, args),) = value.items()
            function = FUNCTIONS.get(key)
            if function is not None:
                return function(self, args)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def ref(self, name: str):
        pseudo = {
            "AWS::Partition": self.pseudo.partition,
            "AWS::AccountId": self.pseudo.account_id,
            "AWS::Region": self.pseudo.region,
            "AWS::URLSuffix": self.pseudo.url_suffix,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.arn("cloudformation", f"stack/{self.stack_name}/{_uuid(self.stack_name)}"),
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.resources:
            return self.physical_id(name)
        raise Unresolvable(f"Ref {name}: no such parameter or resource")

    def parameter(self, name: str):
        declared = self.template["Parameters"][name]
        if name in self.parameters:
            value = self.parameters[name]
        elif "Default" in declared:
            value = declared["Default"]
        elif name in ROOT_PARAMETER_SAMPLES:
            value = ROOT_PARAMETER_SAMPLES[name]
        else:
            raise Unresolvable(f"parameter {name} has no value, default or sample")
        if declared.get("Type", "").startswith("List<") or declared.get("Type") == "CommaDelimitedList":
            return value if isinstance(value, list) else str(value).split(",")
        return value

    def sub(self, args) -> str:
        text, variables = (args, {}) if isinstance(args, str) else (args[0], args[1])
        local = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in local:
                return _text(local[token])
            if "." in token:
                logical_id, attribute = token.split(".", 1)
                return _text(self.attribute(logical_id, attribute))
            return _text(self.ref(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def _is_condition_fn(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition")


def _text(value) -> str:
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def _uuid(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _get_azs(stack: Stack, _args) -> list[str]:
    return [f"{stack.pseudo.region}{zone}" for zone in "abc"]


def _cidr(stack: Stack, args) -> list[str]:
    block, count, bits = (stack.resolve(a) for a in args)
    prefix = str(block).split("/")[0].rsplit(".", 2)[0]
    return [f"{prefix}.{i}.0/{32 - int(bits)}" for i in range(int(count))]


def _select(stack: Stack, args):
    index, items = stack.resolve(args[0]), stack.resolve(args[1])
    return items[int(index)]


def _split(stack: Stack, args):
    return str(stack.resolve(args[1])).split(args[0])


def _join(stack: Stack, args) -> str:
    return args[0].join(_text(v) for v in stack.resolve(args[1]))


def _if(stack: Stack, args):
    name, when_true, when_false = args
    if name not in stack.conditions:
        raise Unresolvable(f"Fn::If {name}: no such condition")
    return stack.resolve(when_true if stack.conditions[name] else when_false)


def _find_in_map(stack: Stack, args):
    mapping, top, second = (stack.resolve(a) for a in args[:3])
    try:
        return stack.template["Mappings"][mapping][top][second]
    except KeyError as error:
        raise Unresolvable(f"Fn::FindInMap {mapping}/{top}/{second}: no such entry") from error


def _get_att(stack: Stack, args):
    if isinstance(args, str):
        args = args.split(".", 1)
    logical_id, attribute = args[0], stack.resolve(args[1])
    return stack.attribute(logical_id, attribute)


FUNCTIONS = {
    "Ref": lambda stack, name: stack.ref(name),
    "Fn::GetAtt": _get_att,
    "Fn::Sub": lambda stack, args: stack.sub(args),
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::FindInMap": _find_in_map,
    "Fn::ImportValue": lambda stack, args: f"imported-{_text(stack.resolve(args))}",
    "Fn::GetAZs": _get_azs,
    "Fn::Base64": lambda stack, args: base64.b64encode(_text(stack.resolve(args)).encode()).decode(),
    "Fn::Cidr": _cidr,
    "Fn::Length": lambda stack, args: len(stack.resolve(args)),
    "Fn::ToJsonString": lambda stack, args: json.dumps(stack.resolve(args), separators=(",", ":")),
    "Condition": lambda stack, name: stack.conditions[name],
}

# --- physical ids and attributes, per resource type ------------------------------

# Type -> the property that sets the resource's name explicitly.
NAME_PROPERTIES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::ECS::Service": "ServiceName",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "Name",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::CompositeAlarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::SSM::Parameter": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::KMS::Alias": "AliasName",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::CodeBuild::Project": "Name",
    "AWS::CodePipeline::Pipeline": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Events::Rule": "Name",
    "AWS::Logs::QueryDefinition": "Name",
    "AWS::EC2::SecurityGroup": "GroupName",
    "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
    "AWS::ECS::TaskDefinition": "Family",
    "AWS::CodeStarNotifications::NotificationRule": "Name",
}

# Generated names are cut to the service's limit by CloudFormation; these are the limits that matter here.
GENERATED_NAME_LIMITS = {
    "AWS::IAM::Role": 64,
    "AWS::Lambda::Function": 64,
    "AWS::S3::Bucket": 63,
    "AWS::ElasticLoadBalancingV2::TargetGroup": 32,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": 32,
    "AWS::SNS::Topic": 256,
}

# Types whose Ref is an ARN (the rest return a name or an id).
ARN_REFS = {
    "AWS::SNS::Topic": ("sns", "{name}"),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ("elasticloadbalancing", "targetgroup/{name}/0123456789abcdef"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("elasticloadbalancing", "loadbalancer/app/{name}/0123456789abcdef"),
    "AWS::ElasticLoadBalancingV2::Listener": ("elasticloadbalancing", "listener/app/{stack}-lb/0123456789abcdef/fedcba9876543210"),
    "AWS::ElasticLoadBalancingV2::ListenerRule": (
        "elasticloadbalancing",
        "listener-rule/app/{stack}-lb/0123456789abcdef/fedcba9876543210/0a1b2c3d4e5f6a7b",
    ),
    "AWS::SecretsManager::Secret": ("secretsmanager", "secret:{name}-AbCdEf"),
    "AWS::ECS::Service": ("ecs", "service/{stack}/{name}"),
    "AWS::ECS::TaskDefinition": ("ecs", "task-definition/{name}:1"),
    "AWS::IAM::ManagedPolicy": ("iam", "policy/{name}"),
    "AWS::CodeStarNotifications::NotificationRule": ("codestar-notifications", "notificationrule/{hex}"),
    "AWS::CloudWatch::Alarm": ("cloudwatch", "alarm:{name}"),
}

# Types whose Ref is an opaque id: a realistic, fixed-length id.
ID_REFS = {
    "AWS::EC2::VPC": "vpc-{hex17}",
    "AWS::EC2::Subnet": "subnet-{hex17}",
    "AWS::EC2::SecurityGroup": "sg-{hex17}",
    "AWS::EC2::RouteTable": "rtb-{hex17}",
    "AWS::EC2::InternetGateway": "igw-{hex17}",
    "AWS::EC2::NatGateway": "nat-{hex17}",
    "AWS::EC2::EIP": "203.0.113.10",
    "AWS::EC2::VPCEndpoint": "vpce-{hex17}",
    "AWS::KMS::Key": "{uuid}",
    "AWS::EC2::FlowLog": "fl-{hex17}",
    "AWS::Logs::QueryDefinition": "{uuid}",
}


def _explicit_name(kind: str, properties: dict):
    prop = NAME_PROPERTIES.get(kind)
    return properties.get(prop) if prop else None


def _name_limit(kind: str) -> int:
    return GENERATED_NAME_LIMITS.get(kind, 128)


def physical_ref(stack: Stack, kind: str, logical_id: str, name: str) -> str:
    seed = f"{stack.stack_name}/{logical_id}"
    digest = hashlib.sha256(seed.encode()).hexdigest()
    if kind in ID_REFS:
        return ID_REFS[kind].format(hex17=digest[:17], uuid=_uuid(seed))
    shape = ARN_REFS.get(kind)
    if shape:
        service, resource = shape
        return stack.arn(service, resource.format(name=name, stack=stack.stack_name, hex=digest[:40]))
    return name


def resource_attribute(stack: Stack, logical_id: str, attribute: str):
    """GetAtt of a resource: ARNs and names in the shape the service returns them."""
    kind = stack.resources[logical_id]["Type"]
    ref = stack.physical_id(logical_id)
    digest = hashlib.sha256(f"{stack.stack_name}/{logical_id}".encode()).hexdigest()
    arns = {
        "AWS::IAM::Role": lambda: stack.arn("iam", f"role/{ref}", region=False),
        "AWS::Lambda::Function": lambda: stack.arn("lambda", f"function:{ref}"),
        "AWS::Logs::LogGroup": lambda: stack.arn("logs", f"log-group:{ref}:*"),
        "AWS::S3::Bucket": lambda: stack.arn("s3", ref, region=False, account=False),
        "AWS::KMS::Key": lambda: stack.arn("kms", f"key/{ref}"),
        "AWS::ECS::Cluster": lambda: stack.arn("ecs", f"cluster/{ref}"),
        "AWS::ECR::Repository": lambda: stack.arn("ecr", f"repository/{ref}"),
        "AWS::CodeBuild::Project": lambda: stack.arn("codebuild", f"project/{ref}"),
        "AWS::Events::Rule": lambda: stack.arn("events", f"rule/{ref}"),
        "AWS::KinesisFirehose::DeliveryStream": lambda: stack.arn("firehose", f"deliverystream/{ref}"),
        "AWS::CloudWatch::Alarm": lambda: stack.arn("cloudwatch", f"alarm:{ref}"),
        "AWS::CloudWatch::CompositeAlarm": lambda: stack.arn("cloudwatch", f"alarm:{ref}"),
        "AWS::SSM::Parameter": lambda: stack.arn("ssm", f"parameter{ref if ref.startswith('/') else '/' + ref}"),
        "AWS::EC2::VPC": lambda: stack.arn("ec2", f"vpc/{ref}"),
    }
    if attribute == "Arn":
        return arns[kind]() if kind in arns else ref
    special = {
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", "DNSName"): lambda: (
            f"internal-{ref.split('/')[-2]}-1234567890.{stack.pseudo.region}.elb.{stack.pseudo.url_suffix}"
        ),
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"): lambda: ref.split(":loadbalancer/", 1)[1],
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerName"): lambda: ref.split("/")[-2],
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", "CanonicalHostedZoneID"): lambda: "Z1H1FL5HABSF5",
        ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"): lambda: ref.split(":", 5)[5],
        ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupName"): lambda: ref.split("/")[-2],
        ("AWS::ElasticLoadBalancingV2::TargetGroup", "LoadBalancerArns"): lambda: [],
        ("AWS::EC2::SecurityGroup", "GroupId"): lambda: ref,
        ("AWS::EC2::VPC", "CidrBlock"): lambda: stack.properties(logical_id).get("CidrBlock", "10.0.0.0/16"),
        ("AWS::ECS::Service", "Name"): lambda: ref.rsplit("/", 1)[-1],
        ("AWS::ECS::Service", "ServiceArn"): lambda: ref,
        ("AWS::ECR::Repository", "RepositoryUri"): lambda: (
            f"{stack.pseudo.account_id}.dkr.ecr.{stack.pseudo.region}.{stack.pseudo.url_suffix}/{ref}"
        ),
        ("AWS::S3::Bucket", "DomainName"): lambda: f"{ref}.s3.{stack.pseudo.url_suffix}",
        ("AWS::S3::Bucket", "RegionalDomainName"): lambda: f"{ref}.s3.{stack.pseudo.region}.{stack.pseudo.url_suffix}",
        ("AWS::KMS::Key", "KeyId"): lambda: ref,
        ("AWS::SNS::Topic", "TopicArn"): lambda: ref,
        ("AWS::SNS::Topic", "TopicName"): lambda: ref.rsplit(":", 1)[-1],
        ("AWS::SecretsManager::Secret", "Id"): lambda: ref,
        ("AWS::Logs::LogGroup", "LogGroupName"): lambda: ref,
    }
    if (kind, attribute) in special:
        return special[(kind, attribute)]()
    return f"{attribute.lower()}-{digest[:20]}"


class Target:
    """A rendered target: its root template and every nested one, resolved together."""

    def __init__(self, name: str, stack_name: str, rendered: dict[str, dict], pseudo: Pseudo = DEFAULT_PSEUDO):
        self.name = name
        self.rendered = rendered
        self.pseudo = pseudo
        self.root = Stack(self, names.ROOT_TEMPLATE, rendered[names.ROOT_TEMPLATE], stack_name, {})
        self._children: dict[tuple[str, str], Stack] = {}
        self._properties: dict[tuple[str, str], dict] = {}

    def child_stack_name(self, parent: Stack, logical_id: str) -> str:
        """A nested stack's name: parent name, logical id and a 12-character suffix (CloudFormation's form)."""
        return f"{parent.stack_name}-{logical_id}-{_suffix(parent.stack_name + logical_id, 12)}"

    def child(self, parent: Stack, logical_id: str) -> Stack:
        key = (parent.file, logical_id)
        if key not in self._children:
            body = parent.resources[logical_id]["Properties"]
            file = body["TemplateURL"]
            if file not in self.rendered:
                raise Unresolvable(f"{logical_id}: TemplateURL {file} is not a template of the target")
            parameters = {k: parent.resolve(v) for k, v in body.get("Parameters", {}).items()}
            self._children[key] = Stack(self, file, self.rendered[file], self.child_stack_name(parent, logical_id), parameters)
        return self._children[key]

    @cached_property
    def stacks(self) -> list[Stack]:
        """The root and every nested stack below it, depth first."""
        found, pending = [], [self.root]
        while pending:
            stack = pending.pop(0)
            found.append(stack)
            pending += [
                self.child(stack, logical_id)
                for logical_id, body in sorted(stack.resources.items())
                if body["Type"] == "AWS::CloudFormation::Stack" and stack.active(logical_id)
            ]
        return found

    def resolved_properties(self, stack: Stack, logical_id: str) -> dict:
        key = (stack.file, logical_id)
        if key not in self._properties:
            self._properties[key] = stack.resolve(stack.resources[logical_id].get("Properties", {}))
        return self._properties[key]

    def resources(self, *types: str):
        """(stack, logical id, resource) for every created resource of the given types (all when none given)."""
        for stack in self.stacks:
            for logical_id, body in stack.resources.items():
                if (not types or body["Type"] in types) and stack.active(logical_id):
                    yield stack, logical_id, body
