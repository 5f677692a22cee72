"""Trust policies with documented conditions only, on every configuration: each role's trust policy is one of
``policies.TRUSTS`` (the service, and the conditions its own documentation puts in the trust policy)."""

from __future__ import annotations

from troposphere import encode_to_dict

from templates.iam import policies

DOCUMENTED = {kind: encode_to_dict(policies.trust(kind)) for kind in policies.TRUSTS}


def test_every_role_trusts_one_service_on_its_documented_conditions_only(configured_target):
    roles = [
        (file, logical_id, resource["Properties"]["AssumeRolePolicyDocument"])
        for file, template in configured_target.rendered.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    ]
    assert roles
    for file, logical_id, document in roles:
        assert document in DOCUMENTED.values(), f"{file}: {logical_id}: {document}"


def test_no_trust_condition_is_left_where_its_page_documents_none():
    """The services whose pages show a bare trust policy (AssumeRole from the service, no Condition)."""
    bare = {kind for kind, trust in policies.TRUSTS.items() if not trust.conditions}
    assert {"cloudformation", "codepipeline", "ecs-execution", "ecs", "events", "lambda"} <= bare
    assert all("Condition" not in DOCUMENTED[kind]["Statement"][0] for kind in bare)
