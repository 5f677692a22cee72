"""The environment's KMS key: encrypts its secrets, its Lambda settings, its notification
topic and, where the environment asks for it, its log groups."""

from __future__ import annotations

from awacs.aws import Allow, ArnLike, BoolIfExists, Condition, Deny, Principal, Statement
from troposphere import Equals, GetAtt, If, Not, Output, Parameter, Ref, Sub, Template, encode_to_dict, kms

from templates import names
from templates.config.model import Config
from templates.iam import handler_permissions, policies
from templates.stacks import notifications
from templates.stacks.common import RETAIN, new_template, tags

# Key administration, listed by name: a key policy with "kms:*" would let any
# principal the account trusts with it do anything, including schedule deletion.
KEY_ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:CreateGrant",
]
LOGS_ACTIONS = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]


def key_policy() -> dict:
    account = Statement(
        Sid="AccountAdministersKey",
        Effect=Allow,
        Principal=Principal("AWS", [Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")]),
        Action=[policies.action(a) for a in KEY_ADMIN_ACTIONS],
        Resource=["*"],  # in a key policy "*" means this key and nothing else
    )
    log_groups = Statement(
        Sid="CloudWatchLogsEncryptsThisAccountsLogGroups",
        Effect=Allow,
        Principal=policies.service_principal(Sub("logs.${AWS::Region}.${AWS::URLSuffix}")),
        Action=[policies.action(a) for a in LOGS_ACTIONS],
        Resource=["*"],  # in a key policy "*" means this key and nothing else
        Condition=Condition(
            ArnLike({"kms:EncryptionContext:aws:logs:arn": Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")})
        ),
    )
    return policies.document(account, log_groups, grants_for_aws_services_only(), *notifications.key_statements())


HAS_DEPLOY_ROLE = "HasDeployRole"


def deploy_role_actions() -> list[str]:
    """What CloudFormation's key and alias handlers call on the key itself, from the registry schemas (CreateKey acts
    on no key yet; an alias also needs its own grant, which the deploy role's policy gives by name)."""
    needed = handler_permissions.required_permissions(["AWS::KMS::Key", "AWS::KMS::Alias"])
    return sorted(a for a in needed if a.startswith("kms:") and a not in ("kms:CreateKey", "kms:ListAliases"))


def deploy_role_statement(role_arn: Parameter) -> Statement:
    """The environment's deploy role administers the key by the key policy itself.  Its IAM policy reaches keys through
    their Target tag, but "changes to tags and aliases might take up to five minutes to affect KMS key authorization"
    (KMS Developer Guide, "ABAC for AWS KMS": https://docs.aws.amazon.com/kms/latest/developerguide/abac.html), and
    CloudFormation enables rotation and names the key right after CreateKey.  A key policy naming the role grants it
    without the tag (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html)."""
    return Statement(
        Sid="TheDeployRoleAdministersKey",
        Effect=Allow,
        Principal=Principal("AWS", [Ref(role_arn)]),
        Action=[policies.action(a) for a in deploy_role_actions()],
        Resource=["*"],  # in a key policy "*" means this key and nothing else
    )


def grants_for_aws_services_only() -> Statement:
    """Only AWS services, for AWS resources, may create grants on the key (Control Tower CT.KMS.PR.3).

    kms:GrantIsForAWSResource is true when an AWS service integrated with KMS (Lambda for its
    environment variables, for one) sends CreateGrant on a principal's behalf (KMS Developer Guide,
    "Controlling access to grants"); no person or role here creates a grant directly.  The control's
    rule accepts exactly this statement: Deny, Principal "*", Resource "*", both keys false.
    """
    return Statement(
        Sid="OnlyAwsServicesCreateGrants",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[policies.action("kms:CreateGrant")],
        Resource=["*"],  # in a key policy "*" means this key and nothing else
        Condition=Condition(BoolIfExists({"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"})),
    )


def add_key(template: Template, config: Config) -> kms.Key:
    role_arn = template.add_parameter(
        Parameter(names.DEPLOY_ROLE_ARN, Type="String", Default="", Description="the role CloudFormation deploys with, if any")
    )
    template.add_condition(HAS_DEPLOY_ROLE, Not(Equals(Ref(role_arn), "")))
    policy = encode_to_dict(key_policy())
    policy["Statement"].append(If(HAS_DEPLOY_ROLE, encode_to_dict(deploy_role_statement(role_arn)), Ref("AWS::NoValue")))
    return template.add_resource(
        kms.Key(
            "EnvironmentKey",
            Description=Sub(f"{config.stack_prefix} environment key (${{AWS::StackName}})"),
            EnableKeyRotation=True,
            KeyPolicy=policy,
            DeletionPolicy=RETAIN,
            UpdateReplacePolicy=RETAIN,
            Tags=tags(config),
        )
    )


def build(config: Config) -> Template:
    template = new_template(f"{config.stack_prefix}: the environment's KMS key")
    key = add_key(template, config)
    template.add_resource(kms.Alias("EnvironmentKeyAlias", AliasName=f"alias/{config.stack_prefix}", TargetKeyId=GetAtt(key, "Arn")))
    template.add_output(Output(names.ENVIRONMENT_KEY_ARN, Value=GetAtt(key, "Arn")))
    return template
