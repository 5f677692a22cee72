"""The pipeline's key, its build log groups and its notification topic."""

from __future__ import annotations

from troposphere import GetAtt, Sub, Template, kms, logs

from templates.config.pipeline import PipelineConfig
from templates.iam import policies
from templates.stacks import keys, notifications
from templates.stacks.common import RETAIN, skip_checks, tags
from templates.stacks.pipeline.common import resource_name


def add_key(template: Template, config: PipelineConfig) -> kms.Key:
    """Encrypts the artifacts, the build logs and the notification topic."""
    statements = list(keys.key_policy().Statement)
    statements += [s for s in notifications.key_statements() if s.Sid not in {t.Sid for t in statements}]
    key = template.add_resource(
        kms.Key(
            "PipelineKey",
            Description=Sub(f"{config.stack_prefix} artifacts, build logs and notifications (${{AWS::StackName}})"),
            EnableKeyRotation=True,
            KeyPolicy=policies.document(*statements),
            DeletionPolicy=RETAIN,
            UpdateReplacePolicy=RETAIN,
            Tags=tags(config),
        )
    )
    template.add_resource(kms.Alias("PipelineKeyAlias", AliasName=f"alias/{config.stack_prefix}", TargetKeyId=GetAtt(key, "Arn")))
    return key


def add_log_group(template: Template, config: PipelineConfig, title: str, name: str, key: kms.Key) -> logs.LogGroup:
    """A build's log group: the pipeline's retention, its key, retained when the pipeline is protected."""
    settings = config.pipeline
    retention = RETAIN if settings.protected else "Delete"
    kwargs = {"KmsKeyId": GetAtt(key, "Arn")} if settings.logs.kms_encrypted else {}
    group = template.add_resource(
        logs.LogGroup(
            title,
            LogGroupName=name,
            RetentionInDays=settings.logs.retention_days,
            DeletionPolicy=retention,
            UpdateReplacePolicy=retention,
            **kwargs,
        )
    )
    if not settings.logs.kms_encrypted:
        skip_checks(group, {"CKV_AWS_158": "the pipeline's logs.kms_encrypted is false; CloudWatch Logs still encrypts at rest"})
    return group


def add_topic(template: Template, config: PipelineConfig, key: kms.Key):
    return notifications.add_topic(
        template,
        "NotificationTopic",
        resource_name(config, "notifications"),
        config.pipeline.notifications.subscriptions,
        GetAtt(key, "Arn"),
    )
