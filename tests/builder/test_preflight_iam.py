"""IAM quotas, measured resolved and without whitespace: a good and a bad fixture per quota."""

from __future__ import annotations

from builder.preflight import iam
from builder.preflight.model import policy_size
from tests.builder.preflight_fixtures import allow, document, role, rules_of, target


def statement_of_size(characters: int) -> dict:
    """An Allow statement whose policy document, compacted, is exactly ``characters`` long."""
    base = document(allow(["s3:GetObject"], ["arn:x:"]))
    padding = characters - policy_size(base)
    return allow(["s3:GetObject"], ["arn:x:" + "a" * padding])


def test_whitespace_is_not_counted():
    assert policy_size({"a": "b c"}) == policy_size({"a": "bc"})


def test_a_role_within_every_quota_passes():
    report = iam.check(target({"Role": role([document(statement_of_size(10_240))], ManagedPolicyArns=["arn"] * 10)}))
    assert report.findings == []
    assert report.checks == {iam.RULE_INLINE: 1, iam.RULE_TRUST: 1, iam.RULE_ATTACHED: 1}


def test_inline_policies_over_10240_characters_together_are_a_finding():
    half = document(statement_of_size(5_121))
    report = iam.check(target({"Role": role([half, half])}))
    assert rules_of(report) == [iam.RULE_INLINE]
    assert str(report.findings[0]) == "staging: root.json: Role: iam-inline-policies-per-role: 10242 characters (limit: 10240)"


def test_sizes_are_measured_after_resolving_intrinsic_functions():
    # Unresolved, the GetAtt is 30 characters; resolved, it is the worker role's ARN in aws-us-gov, about 70.
    statement = statement_of_size(10_200)
    statement["Resource"].append({"Fn::GetAtt": ["Worker", "Arn"]})
    resources = {"Role": role([document(statement)]), "Worker": role([])}
    assert policy_size(document(statement)) <= iam.INLINE_PER_ROLE
    report = iam.check(target(resources))
    assert rules_of(report) == [iam.RULE_INLINE]
    assert int(report.findings[0].value.split()[0]) > iam.INLINE_PER_ROLE


def test_policies_attached_to_a_role_from_outside_count_towards_it():
    resources = {
        "Role": role([document(statement_of_size(6_000))], RoleName="shop-staging-worker"),
        "Extra": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyName": "extra", "Roles": [{"Ref": "Role"}], "PolicyDocument": document(statement_of_size(5_000))},
        },
    }
    assert rules_of(iam.check(target(resources))) == [iam.RULE_INLINE]


def test_a_managed_policy_over_6144_characters_is_a_finding():
    good = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document(statement_of_size(6_144))}}
    bad = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document(statement_of_size(6_145))}}
    assert iam.check(target({"Good": good})).findings == []
    assert rules_of(iam.check(target({"Bad": bad}))) == [iam.RULE_MANAGED]


def test_a_trust_policy_over_2048_characters_is_a_finding():
    trust = document(statement_of_size(2_049))
    assert rules_of(iam.check(target({"Role": role([], trust=trust)}))) == [iam.RULE_TRUST]


def test_more_than_ten_managed_policies_on_a_role_is_a_finding():
    assert rules_of(iam.check(target({"Role": role([], ManagedPolicyArns=["arn"] * 11)}))) == [iam.RULE_ATTACHED]
