"""The environment's KMS key: encrypts its secrets, its Lambda settings, its notification
topic and, where the environment asks for it, its log groups."""

from __future__ import annotations

from awacs.aws import Allow, ArnLike, BoolIfExists, Condition, Deny, Principal, Statement
from troposphere import GetAtt, Output, Sub, Template, kms

from templates import names
from templates.config.model import Config
from templates.iam import policies
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
    return template.add_resource(
        kms.Key(
            "EnvironmentKey",
            Description=Sub(f"{config.stack_prefix} environment key (${{AWS::StackName}})"),
            EnableKeyRotation=True,
            KeyPolicy=key_policy(),
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
