"""An SNS topic with its subscriptions and a policy naming who may publish.

Shared by the environments (alarms, deployment events) and the pipeline
(failures, pending approvals).  The topic is encrypted with a customer key, so
``key_statements`` lists what that key's policy must allow the publishers.
"""

from __future__ import annotations

from awacs.aws import Allow, Condition, Statement, StringEquals
from troposphere import Ref, Sub, Template, awslambda, sns

from templates.config.model import Subscription
from templates.iam import policies

# Service principals allowed to publish, by what they send.
PUBLISHERS = {
    "cloudwatch.amazonaws.com": "alarm state changes",
    "events.amazonaws.com": "EventBridge rules (ECS deployment events, the pipeline's state changes)",
    "codestar-notifications.amazonaws.com": "the pipeline's notification rules",
}


def endpoint(subscription: Subscription):
    """The endpoint as SNS needs it: a bare queue or function name becomes this account's ARN."""
    if subscription.protocol in ("email", "https") or subscription.endpoint.startswith("arn:"):
        return subscription.endpoint
    service = {"sqs": "sqs", "lambda": "lambda"}[subscription.protocol]
    resource = subscription.endpoint if service == "sqs" else f"function:{subscription.endpoint}"
    return Sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def subscription_title(topic_title: str, index: int) -> str:
    return f"{topic_title}Subscription{index + 1}"


def add_topic(template: Template, title: str, topic_name: str, subscriptions: tuple[Subscription, ...], key_arn) -> sns.Topic:
    topic = template.add_resource(sns.Topic(title, TopicName=topic_name, KmsMasterKeyId=key_arn))
    for index, subscription in enumerate(subscriptions):
        template.add_resource(
            sns.SubscriptionResource(
                subscription_title(title, index),
                TopicArn=Ref(topic),
                Protocol=subscription.protocol,
                Endpoint=endpoint(subscription),
            )
        )
        if subscription.protocol == "lambda":
            add_invoke_permission(template, title, index, topic, subscription)
    publish = Statement(
        Sid="AccountServicesPublish",
        Effect=Allow,
        Principal=policies.service_principal(sorted(PUBLISHERS)),
        Action=[policies.action("sns:Publish")],
        Resource=[Ref(topic)],
        Condition=Condition(StringEquals({"aws:SourceAccount": Sub("${AWS::AccountId}")})),
    )
    template.add_resource(sns.TopicPolicy(f"{title}Policy", Topics=[Ref(topic)], PolicyDocument=policies.document(publish)))
    return topic


def add_invoke_permission(template: Template, topic_title: str, index: int, topic: sns.Topic, subscription: Subscription):
    """SNS may invoke a subscribed function only with this permission on the function, for this topic alone.

    An SQS queue needs the like on its own policy, which this stack does not own: the user adds
    it (docs/environments.md, "Subscriptions") and deploy.py checks it where it can read it.
    """
    return template.add_resource(
        awslambda.Permission(
            f"{subscription_title(topic_title, index)}InvokePermission",
            Action="lambda:InvokeFunction",
            FunctionName=endpoint(subscription),
            Principal="sns.amazonaws.com",
            SourceArn=Ref(topic),
        )
    )


def key_statements() -> list[Statement]:
    """What a topic's KMS key must let the publishers do: encrypt the messages they publish."""
    return [
        Statement(
            Sid="NotificationPublishersEncrypt",
            Effect=Allow,
            Principal=policies.service_principal(sorted(PUBLISHERS)),
            Action=[policies.action("kms:Decrypt"), policies.action("kms:GenerateDataKey*")],
            Resource=["*"],  # in a key policy "*" means this key and nothing else
            Condition=Condition(StringEquals({"aws:SourceAccount": Sub("${AWS::AccountId}")})),
        )
    ]
