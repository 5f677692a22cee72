"""Each environment's CloudFormation deploy role and permissions boundary, derived, not hand-listed.

The deploy role of an environment is computed from the resource types of that environment's rendered
templates (``handler_permissions.required_permissions``: what the registry schemas say their create, read,
update and delete handlers call) and scoped to the environment:

- by name where the environment names its resources ``<project>-<target>...`` (``NAMED``): stacks, roles,
  functions, log groups, alarms, parameters, secrets, topics, rules, buckets, the cluster and its services;
- by the ``Target`` tag where AWS generates the names (``TAGGED``: EC2, Elastic Load Balancing, the scalable
  targets, the KMS key): ``aws:ResourceTag/Target`` for what exists, and for what is being created
  ``aws:RequestTag/Target`` on a resource that has no ``Target`` tag yet (``Null``), so a role can never
  claim another environment's resource by tagging it. Every nested stack carries the ``Target`` tag and
  CloudFormation propagates stack tags to the resources it creates;
- ``Resource: "*"`` only for the actions in ``policies.WILDCARD_RESOURCE_ACTIONS``.

Which action takes which resource type and condition key was checked against the IAM service
authorization reference (https://docs.aws.amazon.com/service-authorization/latest/reference/), in its
machine-readable copy that parliament ships; tests/templates/test_deploy_roles.py re-checks every grant
against that copy. An action of a service with no scope here is refused at render time: a new resource
type needs a decision, not a silent wildcard.

The permissions boundary of an environment caps what any role the environment creates may do: the union of
the actions its roles' policies use, scoped the same way. The deploy role may create or change a role only
with that boundary attached (``iam:PermissionsBoundary``) and may pass only its environment's roles, only to
the services those roles trust (``iam:PassedToService``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from awacs.aws import ArnEquals, Condition, ForAllValuesStringEquals, Null, Statement, StringEquals, StringEqualsIfExists
from troposphere import Sub, encode_to_dict

from templates import names
from templates.config.model import camel_case
from templates.iam import handler_permissions, policies

TARGET_TAG = "Target"
# IAM's quota for one customer-managed policy, and for managed policies attached to one role
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): whitespace is not counted.
MANAGED_POLICY_MAX_CHARS = 6144
MANAGED_POLICIES_PER_ROLE = 10
# What the intrinsics resolve to at worst when a policy's size is measured.
WORST_CASE = {
    "AWS::Partition": "aws-us-gov",
    "AWS::Region": "ap-southeast-14",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com.cn",
}
WORST_CASE_REF = "x" * 63  # a parameter or resource name: S3 bucket names, the longest, have at most 63

REGIONAL = ":{service}:${{AWS::Region}}:${{AWS::AccountId}}:"

# service prefix -> ARN tails (after "arn:${AWS::Partition}") of the environment's resources, by name.
# {prefix} is "<project>-<target>", {project} the project's name.
NAMED: dict[str, tuple[str, ...]] = {
    "cloudformation": (
        ":cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{prefix}/*",
        ":cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{prefix}-*/*",
    ),
    # Generated role names start with the stack's name, and every stack's name with the prefix.
    "iam": (":iam::${{AWS::AccountId}}:role/{prefix}-*",),
    "lambda": (":lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{prefix}-*",),
    "secretsmanager": (":secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{prefix}-*",),
    "ssm": (":ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/{prefix}/*",),
    "sns": (":sns:${{AWS::Region}}:${{AWS::AccountId}}:{prefix}-*",),
    "events": (":events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{prefix}-*",),
    "firehose": (":firehose:${{AWS::Region}}:${{AWS::AccountId}}:deliverystream/{prefix}-*",),
    # Schedules take no tags, so they are named (schedule/<group>/<name>, Service Authorization Reference,
    # "Resource types defined by Amazon EventBridge Scheduler"); the templates use the default group.
    "scheduler": (":scheduler:${{AWS::Region}}:${{AWS::AccountId}}:schedule/default/{prefix}-*",),
    # Bucket names are generated from the (lower-case) stack name.
    "s3": (":s3:::{prefix}-*", ":s3:::{prefix}-*/*"),
    "ecs": (
        ":ecs:${{AWS::Region}}:${{AWS::AccountId}}:cluster/{prefix}",
        ":ecs:${{AWS::Region}}:${{AWS::AccountId}}:service/{prefix}/*",
        ":ecs:${{AWS::Region}}:${{AWS::AccountId}}:service-deployment/{prefix}/*",
        ":ecs:${{AWS::Region}}:${{AWS::AccountId}}:task-definition/{prefix}-*:*",
    ),
    "cloudwatch": (
        ":cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{prefix}-*",
        # Target tracking alarms that Application Auto Scaling creates for a service are named
        # TargetTracking-<resource id>-AlarmHigh-<uuid> (PutScalingPolicy's Alarms output), the resource id
        # of an ECS service being service/<cluster>/<service>, and the cluster being named <prefix>.
        ":cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:TargetTracking-service/{prefix}/*",
        ":cloudwatch::${{AWS::AccountId}}:dashboard/{prefix}",
        ":cloudwatch::${{AWS::AccountId}}:dashboard/{prefix}-*",
    ),
    "kms": (":kms:${{AWS::Region}}:${{AWS::AccountId}}:alias/{prefix}",),
    # The pipeline's image repositories, shared by every environment: the tasks pull from them.
    "ecr": (":ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{project}/*",),
}
# Services with both: only these of their actions go on the named resources (a KMS alias; the key is tagged).
NAMED_ACTIONS = {"kms": lambda action: action.endswith("Alias")}
# Services whose resources carry generated names or ids: scoped by the Target tag.
TAGGED: dict[str, str] = {
    "ec2": ":ec2:${{AWS::Region}}:${{AWS::AccountId}}:*",
    "elasticloadbalancing": ":elasticloadbalancing:${{AWS::Region}}:${{AWS::AccountId}}:*",
    "application-autoscaling": ":application-autoscaling:${{AWS::Region}}:${{AWS::AccountId}}:scalable-target/*",
    "kms": ":kms:${{AWS::Region}}:${{AWS::AccountId}}:key/*",
}
# What the environment's own roles act on at run time that always carries its Target tag (the templates tag
# listener rules, target groups and keys explicitly; tests/test_invariants_tags.py): a role bounded by one
# environment's boundary cannot shift another's traffic or decrypt with another's key.  Both services evaluate
# aws:ResourceTag on these resources (Service Authorization Reference, Elastic Load Balancing V2 and AWS KMS
# resource types).  EC2 is left to the account and region: a VPC function's network interfaces carry no tag.
TAGGED_AT_RUNTIME = frozenset({"elasticloadbalancing", "kms", "application-autoscaling"})
# The actions that create (or tag while creating) a resource of a tagged service: the only ones granted on a
# resource that has no Target tag yet, and only when the request carries the environment's. KMS checks
# kms:TagResource on the key while CreateKey creates it with its tags (PutKeyPolicy takes no aws:RequestTag, per
# the Service Authorization Reference: the key policy admits the deploy role for it instead, templates/stacks/keys.py).
CREATING_VERBS = ("Create", "Tag", "Add", "Allocate", "Run")
# Tagging a resource that has no Target tag yet would make it the environment's (then its own statement reaches
# it): allowed only while the resource is being created, by the service's CreateAction condition key (Service
# Authorization Reference: ec2:CreateTags and elasticloadbalancing:AddTags take ec2:CreateAction and
# elasticloadbalancing:CreateAction).  Without it, a role could tag another environment's untagged network
# interfaces and then delete them.
TAG_ON_CREATE = {
    "ec2": ("ec2:CreateTags", "ec2:CreateAction"),
    "elasticloadbalancing": ("elasticloadbalancing:AddTags", "elasticloadbalancing:CreateAction"),
}
CREATING_ACTIONS = {
    "kms": frozenset({"kms:TagResource"}),
    "application-autoscaling": frozenset({"application-autoscaling:RegisterScalableTarget", "application-autoscaling:TagResource"}),
}


def creates(action: str) -> bool:
    service, verb = action.split(":", 1)
    return action in CREATING_ACTIONS[service] if service in CREATING_ACTIONS else verb.startswith(CREATING_VERBS)


# IAM writes that accept the iam:PermissionsBoundary condition key: only with the environment's boundary.
BOUNDED_IAM_ACTIONS = frozenset(
    {
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePermissionsBoundary",
    }
)
# Service-linked roles CloudFormation's handlers create on first use in an account (service -> role name).
# They are account-wide by nature: the one grant no environment prefix or tag can scope; named exactly instead.
SERVICE_LINKED_ROLES = {
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
    "ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
}


class UnscopedAction(ValueError):
    """An action of a service this module has no environment scope for."""


@dataclass(frozen=True)
class Environment:
    """One environment as its deploy role sees it: its name prefix and its rendered templates."""

    project: str
    target: str
    templates: dict  # file name -> template dict

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.target}"


def boundary_name(project: str, target: str) -> str:
    """The permissions boundary every role of an environment carries (environments derive the same name)."""
    return f"{project}-{target}-{names.BOUNDARY_SUFFIX}"


def boundary_arn(project: str, target: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{boundary_name(project, target)}")


def _arn(tail: str, env: Environment) -> Sub:
    return Sub("arn:${AWS::Partition}" + tail.format(prefix=env.prefix, project=env.project))


def log_group_patterns(env: Environment) -> list[str]:
    """The environment's log group names, each cut after its ``<prefix>/`` or ``<prefix>-``: /ecs/shop-staging/*."""
    patterns = set()
    for template in env.templates.values():
        for body in template.get("Resources", {}).values():
            name = body.get("Properties", {}).get("LogGroupName") if body["Type"] == "AWS::Logs::LogGroup" else None
            if name is None:
                continue
            text = _literal(name)
            cut = max(text.find(f"{env.prefix}/"), text.find(f"{env.prefix}-"))
            kept = text[: cut + len(env.prefix) + 1]
            if cut < 0 or "${" in kept:
                raise UnscopedAction(
                    f"log group {name!r}: its name does not start with a fixed part holding {env.prefix}/ or {env.prefix}-"
                )
            patterns.add(kept + "*")
    return sorted(patterns)


def _literal(name) -> str:
    """A name's text: the string itself, or a Fn::Sub's template (its variables stay as ${...})."""
    if isinstance(name, dict) and set(name) == {"Fn::Sub"}:
        name = name["Fn::Sub"] if isinstance(name["Fn::Sub"], str) else name["Fn::Sub"][0]
    return name if isinstance(name, str) else ""


def named_arns(service: str, env: Environment) -> list[Sub]:
    if service == "logs":
        return [_arn(f":logs:${{{{AWS::Region}}}}:${{{{AWS::AccountId}}}}:log-group:{p}", env) for p in log_group_patterns(env)]
    return [_arn(tail, env) for tail in NAMED.get(service, ())]


def _service(action: str) -> str:
    return action.split(":", 1)[0]


def _by_service(actions: Iterable[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for action in sorted(set(actions)):
        grouped.setdefault(_service(action), []).append(action)
    return grouped


def scoped_statements(actions: Iterable[str], env: Environment, label: str, by_tag: bool = True) -> list[Statement]:
    """Allow ``actions`` on ``env``'s resources only: by name, by Target tag, or "*" for the listed exceptions.

    Without ``by_tag`` (the boundary) the tagged services are limited to the environment's tagged resources where
    every resource the roles act on carries the tag (``TAGGED_AT_RUNTIME``), and to this account and region
    otherwise: resources that AWS creates for a role (a VPC function's network interfaces) carry no tag the
    boundary could ask for.
    """
    actions = set(actions)
    wildcard = sorted(a for a in actions if a in policies.WILDCARD_RESOURCE_ACTIONS and a != "kms:CreateKey")
    statements = []
    if wildcard:
        statements.append(policies.wildcard_statement(wildcard, sid=f"{label}Unscopable"))
    if "kms:CreateKey" in actions:  # a key has no ARN before it exists: the request must carry the environment's tag
        statements.append(
            policies.wildcard_statement(
                ["kms:CreateKey"], sid=f"{label}CreateKey", condition=Condition(StringEquals({f"aws:RequestTag/{TARGET_TAG}": env.target}))
            )
        )
    for service, group in _by_service(a for a in actions if a not in policies.WILDCARD_RESOURCE_ACTIONS).items():
        if service == "route53":
            statements += record_statements(group, env, label)
            continue
        arns = named_arns(service, env)
        if not arns and service not in TAGGED:
            raise UnscopedAction(
                f"{env.target}: the pipeline cannot derive {env.target}'s deploy role: {', '.join(group)} (for "
                f"{', '.join(needing(env, group))}) can be limited to the environment by no name or tag known to "
                f"templates/iam/deploy_roles.py; expected the setting that adds these resources off in {env.target}.yaml, "
                "or a scoping rule for the service there"
            )
        named = [a for a in group if NAMED_ACTIONS.get(service, lambda _: True)(a)]
        if arns and named:
            statements.append(policies.allow(named, arns, sid=f"{label}{camel_case(service)}Named"))
        if service in TAGGED and by_tag:
            statements += tagged_statements(group, env, service, label)
        elif service in TAGGED:
            condition = Condition(StringEquals({f"aws:ResourceTag/{TARGET_TAG}": env.target})) if service in TAGGED_AT_RUNTIME else None
            statements.append(policies.allow(group, [_arn(TAGGED[service], env)], sid=f"{label}{camel_case(service)}", condition=condition))
    return statements


# The condition key that names the records a ChangeResourceRecordSets call changes: lowercase, no trailing dot
# (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html).
RECORD_NAMES_KEY = "route53:ChangeResourceRecordSetsNormalizedRecordNames"


def needing(env: Environment, actions: Iterable[str]) -> list[str]:
    """The environment's resources (file: logical id (type)) whose handlers call any of ``actions``."""
    wanted = set(actions)
    found = []
    for file, template in sorted(env.templates.items()):
        for logical_id, resource in sorted(template.get("Resources", {}).items()):
            if wanted & set(handler_permissions.required_permissions([resource["Type"]])):
                found.append(f"{file}: {logical_id} ({resource['Type']})")
    return found


def record_sets(env: Environment) -> list[dict]:
    """The properties of every Route 53 record set the environment's templates declare."""
    return [
        resource.get("Properties", {})
        for template in env.templates.values()
        for resource in template.get("Resources", {}).values()
        if resource["Type"] == "AWS::Route53::RecordSet"
    ]


def record_names(env: Environment) -> list[str]:
    """The environment's record names, as the record-name condition key compares them."""
    return sorted({r["Name"].lower().rstrip(".") for r in record_sets(env)})


def record_statements(actions: list[str], env: Environment, label: str) -> list[Statement]:
    """Route 53 has neither names nor tags to scope by: the environment's own hosted zones (from its templates), and
    for changes, only the environment's own record names, so two environments sharing a zone keep to their records."""
    records = record_sets(env)
    zones = [_arn(f":route53:::hostedzone/{zone}", env) for zone in sorted({r["HostedZoneId"] for r in records})]
    if not zones:
        raise UnscopedAction(f"{', '.join(actions)}: the environment {env.target!r} declares no record set to limit route53 to")
    changes = [a for a in actions if a == "route53:ChangeResourceRecordSets"]
    reads = [a for a in actions if a not in changes]
    statements = [policies.allow(reads, [*zones, _arn(":route53:::change/*", env)], sid=f"{label}Route53Read")] if reads else []
    if changes:
        condition = Condition(ForAllValuesStringEquals({RECORD_NAMES_KEY: record_names(env)}))
        statements.append(policies.allow(changes, zones, sid=f"{label}Route53Records", condition=condition))
    return statements


def tagged_statements(actions: list[str], env: Environment, service: str, label: str) -> list[Statement]:
    """Existing resources tagged with the environment; new (untagged) ones only when the request tags them so.

    KMS: to add tags while creating a key the caller needs kms:TagResource "in an IAM policy that isn't restricted to
    particular KMS keys" (https://docs.aws.amazon.com/kms/latest/developerguide/tag-permissions.html): key/* with
    the request's tag, which a key being created has and whose resource has no tag yet.
    """
    resource = [_arn(TAGGED[service], env)]
    own = policies.allow(
        actions,
        resource,
        sid=f"{label}{camel_case(service)}Tagged",
        condition=Condition(
            [
                StringEquals({f"aws:ResourceTag/{TARGET_TAG}": env.target}),
                StringEqualsIfExists({f"aws:RequestTag/{TARGET_TAG}": env.target}),
            ]
        ),
    )
    request_tag = {f"aws:RequestTag/{TARGET_TAG}": env.target}
    no_tag_yet = Null({f"aws:ResourceTag/{TARGET_TAG}": "true"})
    tagging, create_key = TAG_ON_CREATE.get(service, ("", ""))
    creating = [a for a in actions if creates(a) and a != tagging]
    untagged = Condition([StringEquals(request_tag), no_tag_yet])
    statements = [own, policies.allow(creating, resource, sid=f"{label}{camel_case(service)}Create", condition=untagged)]
    if tagging in actions:
        while_creating = {**request_tag, create_key: [a.split(":", 1)[1] for a in creating]}
        on_create = Condition([StringEquals(while_creating), no_tag_yet])
        statements.append(policies.allow([tagging], resource, sid=f"{label}{camel_case(service)}TagOnCreate", condition=on_create))
    return statements


# --- the deploy role ------------------------------------------------------------------------


def resource_types(env: Environment) -> set[str]:
    found: set[str] = set()
    for template in env.templates.values():
        found |= handler_permissions.resource_types(template)
    return found


def required_actions(env: Environment) -> set[str]:
    return set(handler_permissions.required_permissions(resource_types(env)))


def _roles(env: Environment) -> list[dict]:
    return [
        body["Properties"]
        for template in env.templates.values()
        for body in template.get("Resources", {}).values()
        if body["Type"] == "AWS::IAM::Role"
    ]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def trusted_services(env: Environment) -> list:
    """The services the environment's roles trust: the only ones its roles may be passed to (a name, or a Sub)."""
    found = {}
    for role in _roles(env):
        for statement in role["AssumeRolePolicyDocument"]["Statement"]:
            for service in _as_list(statement.get("Principal", {}).get("Service", [])):
                found[json.dumps(service, sort_keys=True)] = service
    return [found[key] for key in sorted(found)]


def runtime_actions(env: Environment) -> set[str]:
    """Every action the environment's roles' own policies allow: what the boundary lets through."""
    found = set()
    for role in _roles(env):
        for policy in role.get("Policies", []):
            for statement in _as_list(policy["PolicyDocument"]["Statement"]):
                if statement.get("Effect") == "Allow":
                    found |= set(_as_list(statement["Action"]))
    return found


def iam_statements(actions: set[str], env: Environment, assets_bucket) -> list[Statement]:
    """Roles only under the prefix, written only with the boundary, passed only to the services that trust them."""
    roles = [_arn(NAMED["iam"][0], env)]
    bounded = sorted(actions & BOUNDED_IAM_ACTIONS)
    plain = sorted(a for a in actions if a not in BOUNDED_IAM_ACTIONS and a not in ("iam:PassRole", "iam:CreateServiceLinkedRole"))
    statements = [
        policies.allow(
            bounded,
            roles,
            sid="RolesOnlyWithTheBoundary",
            condition=Condition(ArnEquals({"iam:PermissionsBoundary": boundary_arn(env.project, env.target)})),
        ),  # fmt: skip
        policies.allow(plain, roles, sid="EnvironmentRoles"),
    ]
    if "iam:PassRole" in actions:
        statements += pass_role_statements(env, roles)
    if "iam:CreateServiceLinkedRole" in actions:
        statements.append(
            policies.allow(
                ["iam:CreateServiceLinkedRole"],
                [
                    Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/aws-service-role/{service}/{name}")
                    for service, name in SERVICE_LINKED_ROLES.items()
                ],
                sid="ServiceLinkedRoles",
                condition=Condition(StringEquals({"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)})),
            )
        )
    # CloudFormation reads the packaged nested templates, and Lambda the code zip, with this role's credentials: only
    # this environment's packages (names.packages_prefix), not another target's, nor the deploy records.
    packages = Sub(f"arn:${{AWS::Partition}}:s3:::${{Bucket}}/{names.packages_prefix(env.target)}/*", Bucket=assets_bucket)
    # The zip is read at its pinned version, which takes s3:GetObjectVersion, not s3:GetObject (S3 API Reference,
    # GetObject: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html); the templates at their key.
    statements.append(policies.allow(["s3:GetObject", "s3:GetObjectVersion"], [packages], sid="PackagedAssets"))
    return statements


# Services that pass no iam:PassedToService when a role is passed to them: "Some services do not support this
# condition key" (IAM User Guide, "iam:PassedToService"); CloudWatch Logs' PutSubscriptionFilter sets neither
# logs.amazonaws.com nor the regional name (https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1784).
WITHOUT_PASSED_TO_SERVICE = (policies.TRUSTS["logs"].principal,)


def pass_role_statements(env: Environment, roles: list) -> list[Statement]:
    """The environment's roles, passed only to the services that trust them (where the service names itself)."""
    unnamed = [encode_to_dict(p) for p in WITHOUT_PASSED_TO_SERVICE]
    services = trusted_services(env)
    named = [s for s in services if s not in unnamed]
    silent = [s for s in services if s in unnamed]
    passed_to = Condition(StringEquals({"iam:PassedToService": named}))
    statements = [policies.allow(["iam:PassRole"], roles, sid="PassEnvironmentRoles", condition=passed_to)]
    if silent:
        passed_if_said = Condition(StringEqualsIfExists({"iam:PassedToService": silent}))
        statements.append(policies.allow(["iam:PassRole"], roles, sid="PassEnvironmentRolesToLogs", condition=passed_if_said))
    return statements


def deploy_statements(env: Environment, assets_bucket) -> list[Statement]:
    actions = required_actions(env)
    iam = {a for a in actions if _service(a) == "iam"}
    return scoped_statements(actions - iam, env, "Deploy") + iam_statements(iam, env, assets_bucket)


def boundary_statements(env: Environment) -> list[Statement]:
    return scoped_statements(runtime_actions(env), env, "Runtime", by_tag=False)


# --- sizes --------------------------------------------------------------------------------------


def resolve(value):
    """A policy document with every intrinsic replaced by its longest plausible value."""
    if isinstance(value, list):
        return [resolve(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Sub"}:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        for name, replacement in {**WORST_CASE, **{k: resolve(v) for k, v in variables.items()}}.items():
            text = text.replace("${" + name + "}", replacement if isinstance(replacement, str) else WORST_CASE_REF)
        return text
    if set(value) == {"Ref"}:
        return WORST_CASE.get(value["Ref"], WORST_CASE_REF)
    if set(value) == {"Fn::GetAtt"}:
        return f"arn:{WORST_CASE['AWS::Partition']}:iam::{WORST_CASE['AWS::AccountId']}:role/{WORST_CASE_REF}"
    return {k: resolve(v) for k, v in value.items()}


def size(document: dict) -> int:
    """The characters IAM counts: the resolved document without whitespace."""
    return len(json.dumps(resolve(document), separators=(",", ":")))


def _document_size(statements: list[Statement]) -> int:
    return size(encode_to_dict(policies.document(*statements)))


def split_statement(statement: Statement, limit: int) -> list[Statement]:
    """A statement too long for one policy, as several with the same scope and fewer actions each."""
    if _document_size([statement]) <= limit or len(statement.Action) == 1:
        return [statement]
    half = len(statement.Action) // 2
    parts = []
    for index, chunk in enumerate((statement.Action[:half], statement.Action[half:]), 1):
        kwargs = {k: v for k, v in statement.properties.items() if k not in ("Action", "Sid")}
        parts += split_statement(Statement(Action=chunk, Sid=f"{statement.Sid}{index}", **kwargs), limit)
    return parts


def pack(statements: list[Statement], limit: int = MANAGED_POLICY_MAX_CHARS) -> list[list[Statement]]:
    """Statements in order, into as few documents of at most ``limit`` resolved characters as fit."""
    documents: list[list[Statement]] = [[]]
    for statement in (part for s in statements for part in split_statement(s, limit)):
        if documents[-1] and _document_size([*documents[-1], statement]) > limit:
            documents.append([])
        documents[-1].append(statement)
    if _document_size(documents[-1]) > limit:
        raise ValueError(f"statement {documents[-1][-1].Sid} alone exceeds {limit} characters once resolved")
    return documents
