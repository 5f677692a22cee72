"""Small hand-written targets for the preflight rules' good and bad fixtures."""

from __future__ import annotations

from builder.preflight.resolve import Target


def target(resources: dict, name: str = "staging", stack_name: str = "shop-staging", **sections) -> Target:
    """A one-template target: root.json holding ``resources`` (and any other template sections)."""
    return Target(name, stack_name, {"root.json": {"Resources": resources, **sections}})


def role(policies: list[dict] | None = None, trust: dict | None = None, **properties) -> dict:
    trust = trust or {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}],
    }
    body = {"AssumeRolePolicyDocument": trust, **properties}
    if policies is not None:
        body["Policies"] = [{"PolicyName": f"p{i}", "PolicyDocument": document} for i, document in enumerate(policies)]
    return {"Type": "AWS::IAM::Role", "Properties": body}


def document(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: list[str], resources: list, **extra) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def rules_of(report) -> list[str]:
    return [finding.rule for finding in report.findings]
