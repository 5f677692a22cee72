"""The environment's notification topic: every alarm and deployment event goes here."""

from __future__ import annotations

from troposphere import Output, Parameter, Ref, Template

from templates import names
from templates.config.model import Config
from templates.stacks import notifications
from templates.stacks.common import new_template


def topic_name(config: Config) -> str:
    return f"{config.stack_prefix}-alerts"


def build(config: Config) -> Template:
    template = new_template(f"{config.stack_prefix}: notification topic and its subscriptions")
    key = template.add_parameter(Parameter(names.ENVIRONMENT_KEY_ARN, Type="String"))
    topic = notifications.add_topic(template, "AlertTopic", topic_name(config), config.environment.notifications.subscriptions, Ref(key))
    template.add_output(Output(names.ALERT_TOPIC_ARN, Value=Ref(topic)))
    return template
