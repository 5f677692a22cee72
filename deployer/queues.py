"""SQS subscriptions: does the queue's policy let the topic send?

SNS delivers to an SQS queue only if the queue's resource policy allows
``sqs:SendMessage`` for the topic (principal ``sns.amazonaws.com``, usually with an
``aws:SourceArn`` condition naming the topic); CloudFormation creates the
subscription either way, and messages are then silently dropped.  The queue is not
in the stack, so deploy.py can only read its policy (``GetQueueAttributes``,
attribute ``Policy``) and warn, printing the statement to add.
See https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html
"""

from __future__ import annotations

import fnmatch
import json

from botocore.exceptions import BotoCoreError, ClientError

SEND = "sqs:SendMessage"
SNS_PRINCIPAL = "sns.amazonaws.com"
SOURCE_KEYS = {"aws:sourcearn"}


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def queue_arn(endpoint: str, partition: str, region: str, account: str) -> str:
    return endpoint if endpoint.startswith("arn:") else f"arn:{partition}:sqs:{region}:{account}:{endpoint}"


def statement(queue: str, topic: str) -> dict:
    return {
        "Effect": "Allow",
        "Principal": {"Service": SNS_PRINCIPAL},
        "Action": SEND,
        "Resource": queue,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
    }


def _principal_ok(principal) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(p in ("*", SNS_PRINCIPAL) for key in ("Service", "AWS") for p in _listed(principal.get(key, [])))
    return False


def _condition_ok(condition: dict, topic: str) -> bool:
    """No condition, or only source-ARN conditions that match the topic."""
    for _operator, tests in (condition or {}).items():
        for key, values in tests.items():
            if key.lower() not in SOURCE_KEYS:
                return False  # another condition (source account, VPC...): cannot judge, assume it does not match
            if not any(fnmatch.fnmatchcase(topic, pattern) for pattern in _listed(values)):
                return False
    return True


def allows(policy: dict, queue: str, topic: str) -> bool:
    for entry in _listed(policy.get("Statement", [])):
        if entry.get("Effect") != "Allow" or not _principal_ok(entry.get("Principal")):
            continue
        if not any(fnmatch.fnmatchcase(SEND.lower(), action.lower()) for action in _listed(entry.get("Action", []))):
            continue
        if not any(fnmatch.fnmatchcase(queue, r) for r in _listed(entry.get("Resource", queue))):
            continue
        if _condition_ok(entry.get("Condition"), topic):
            return True
    return False


def read_policy(sqs, queue: str) -> dict | None:
    """The queue's policy ({} when it has none), or None when it cannot be read."""
    _, partition, _, region, account, name = queue.split(":", 5)
    try:
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    except (ClientError, BotoCoreError):
        return None
    return json.loads(attributes["Policy"]) if attributes.get("Policy") else {}


def warnings(sqs, subscriptions: list[tuple[str, str]], partition: str, region: str, account: str) -> list[str]:
    """One warning per (queue endpoint, topic ARN) whose queue policy keeps the topic out."""
    found = []
    for endpoint, topic in subscriptions:
        queue = queue_arn(endpoint, partition, region, account)
        policy = read_policy(sqs, queue)
        if policy is None:
            found.append(f"could not read the policy of SQS queue {queue}: make sure it allows {SEND} from {topic}")
        elif not allows(policy, queue, topic):
            found.append(
                f"SQS queue {queue} does not let {topic} send to it; SNS will drop those messages. "
                f"Add this statement to the queue's policy: {json.dumps(statement(queue, topic), sort_keys=True)}"
            )
    return found
