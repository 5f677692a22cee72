"""Placeholder values: the documentation's domains and accounts, found anywhere in a configuration tree."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from templates.config import load_target, placeholders
from tests.conftest import SAMPLE


@pytest.mark.parametrize(
    "value, why",
    [
        ("shop.example.com", "a domain under the example domains RFC 2606 reserves"),
        ("*.example.net", "a domain under the example domains RFC 2606 reserves"),
        ("api.shop.example", "a domain under the example domains RFC 2606 reserves"),
        ("example.org", "a domain under the example domains RFC 2606 reserves"),
        ("oncall@example.com", "an e-mail address under the reserved example domain example.com"),
        ("https://alerts.example.com/hooks", "a URL under the reserved example domain alerts.example.com"),
        ("arn:aws:acm:us-east-1:111111111111:certificate/abc", "an ARN in the documentation account 111111111111"),
        ("arn:aws:sqs:eu-west-1:111122223333:queue", "an ARN in the documentation account 111122223333"),
        ("arn:aws-cn:codestar-connections:cn-north-1:000000000000:connection/x", "an ARN in the documentation account 000000000000"),
        ("arn:aws:iam::123456789012:role/deploy", "an ARN in the documentation account 123456789012"),
    ],
)
def test_placeholders_are_recognised(value, why):
    assert placeholders.why_placeholder(value) == why


@pytest.mark.parametrize(
    "value",
    [
        "shop.example-corp.com",  # a real domain that merely contains the word
        "myexample.com",
        "oncall@shop.io",
        "arn:aws:acm:us-east-1:210987654321:certificate/abc",
        '{"recipient": "ops@example.com"}',  # free text (a test request body) that mentions one
        "example",
        "/api",
        "",
    ],
)
def test_real_values_and_free_text_are_not_placeholders(value):
    assert placeholders.why_placeholder(value) is None


def test_every_string_of_the_tree_is_scanned_with_its_key():
    @dataclass(frozen=True)
    class Leaf:
        endpoint: str

    @dataclass(frozen=True)
    class Tree:
        name: str
        leaves: tuple[Leaf, ...]
        extra: dict

    tree = Tree("shop", (Leaf("a@shop.io"), Leaf("b@example.com")), {"cert": ["arn:aws:acm:us-east-1:123456789012:certificate/x"]})
    assert [(p.key, p.value) for p in placeholders.find(tree)] == [
        ("leaves[1].endpoint", "b@example.com"),
        ("extra.cert[0]", "arn:aws:acm:us-east-1:123456789012:certificate/x"),
    ]


def test_the_shipped_parameters_still_hold_placeholders_that_deploy_refuses():
    staging = {p.key for p in placeholders.find(load_target(SAMPLE, "staging"))}
    assert "environment.notifications.subscriptions[0].endpoint" in staging
    pipeline = {p.key for p in placeholders.find(load_target(SAMPLE, "pipeline"))}
    assert "pipeline.source.connection_arn" in pipeline
    assert not any("integration_tests" in key for key in pipeline)  # a request body that mentions example.com is not one
