"""IAM quotas, measured on policies with every intrinsic function resolved.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html ("IAM and AWS STS character
limits" and "IAM object quotas"): a role's inline policies together at most 10,240 characters; a managed
policy at most 6,144; a role trust policy at most 2,048 (the default, adjustable to 4,096); whitespace is not
counted; at most 10 managed policies attached to a role by default (adjustable to 20).
"""

from __future__ import annotations

from builder.preflight.model import Finding, Report, as_list, policy_size
from builder.preflight.resolve import Target

RULE_INLINE = "iam-inline-policies-per-role"
RULE_MANAGED = "iam-managed-policy-size"
RULE_TRUST = "iam-trust-policy-size"
RULE_ATTACHED = "iam-managed-policies-per-role"

INLINE_PER_ROLE = 10_240
MANAGED_POLICY = 6_144
TRUST_POLICY = 2_048
MANAGED_PER_ROLE = 10

ROLE = "AWS::IAM::Role"
STANDALONE_INLINE = ("AWS::IAM::Policy", "AWS::IAM::RolePolicy")
MANAGED = "AWS::IAM::ManagedPolicy"


def _roles_of(properties: dict) -> list[str]:
    return [str(role) for role in as_list(properties.get("Roles")) + as_list(properties.get("RoleName"))]


def check(target: Target) -> Report:
    report = Report()
    inline_elsewhere: dict[str, int] = {}
    attached_elsewhere: dict[str, int] = {}
    for stack, logical_id, _ in target.resources(*STANDALONE_INLINE):
        properties = stack.properties(logical_id)
        for role in _roles_of(properties):
            inline_elsewhere[role] = inline_elsewhere.get(role, 0) + policy_size(properties["PolicyDocument"])
    for stack, logical_id, _ in target.resources(MANAGED):
        properties = stack.properties(logical_id)
        size = policy_size(properties["PolicyDocument"])
        where = (target.name, stack.file, logical_id)
        report.check(RULE_MANAGED, size <= MANAGED_POLICY, Finding(*where, RULE_MANAGED, f"{size} characters", str(MANAGED_POLICY)))
        for role in _roles_of(properties):
            attached_elsewhere[role] = attached_elsewhere.get(role, 0) + 1
    for stack, logical_id, _ in target.resources(ROLE):
        properties = stack.properties(logical_id)
        name = stack.physical_id(logical_id)
        where = (target.name, stack.file, logical_id)
        inline = sum(policy_size(p["PolicyDocument"]) for p in properties.get("Policies", [])) + inline_elsewhere.get(name, 0)
        report.check(RULE_INLINE, inline <= INLINE_PER_ROLE, Finding(*where, RULE_INLINE, f"{inline} characters", str(INLINE_PER_ROLE)))
        trust = policy_size(properties["AssumeRolePolicyDocument"])
        report.check(RULE_TRUST, trust <= TRUST_POLICY, Finding(*where, RULE_TRUST, f"{trust} characters", str(TRUST_POLICY)))
        attached = len(properties.get("ManagedPolicyArns", [])) + attached_elsewhere.get(name, 0)
        report.check(
            RULE_ATTACHED, attached <= MANAGED_PER_ROLE, Finding(*where, RULE_ATTACHED, f"{attached} policies", str(MANAGED_PER_ROLE))
        )
    return report
