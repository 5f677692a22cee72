"""The deploy roles on the rendered pipeline target: sizes, sufficiency against the handlers, isolation, boundary."""

from __future__ import annotations

import functools
import json

import pytest

from templates import names
from templates.iam import deploy_roles, handler_permissions, policies
from templates.render import render
from tests.templates.helpers import props, resources_of_type, service_reference
from tests.templates.test_pipeline import deploy_role_policies, deploy_role_statements

ENVIRONMENTS = (("StagingDeployRole", "staging", "production"), ("ProductionDeployRole", "production", "staging"))


@pytest.fixture(scope="module")
def rendered(request):
    from templates.config import pipeline as pipeline_config
    from tests.conftest import SAMPLE

    config = pipeline_config.load_pipeline(SAMPLE)
    return config, render(config)[names.ROOT_TEMPLATE]


def environment_types(config, target: str) -> set[str]:
    found = set()
    for template in render(config.environment(target)).values():
        found |= handler_permissions.resource_types(template)
    return found


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("role, target, other", ENVIRONMENTS)
def test_each_managed_policy_fits_iams_quota_resolved_and_a_role_has_at_most_ten(rendered, role, target, other):
    _, root = rendered
    attached = deploy_role_policies(root, role)
    assert 1 <= len(attached) <= 10
    for title in attached:
        document = props(root, title)["PolicyDocument"]
        text = json.dumps(deploy_roles.resolve(document), separators=(",", ":"))
        assert "${" not in text and "aws-us-gov" in text and len(text) <= 6144, title
    assert "Policies" not in props(root, role) and "ManagedPolicyArns" not in props(root, role)


@pytest.mark.parametrize("role, target, other", ENVIRONMENTS)
def test_every_permission_the_environments_handlers_declare_is_granted(rendered, role, target, other):
    config, root = rendered
    granted = {a for s in deploy_role_statements(root, role) if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    needed = set(handler_permissions.required_permissions(environment_types(config, target)))
    assert needed - granted == set()
    assert needed  # the environment has resources at all


def names_only_its_environment(statement: dict, target: str, other: str) -> bool:
    text = json.dumps(statement["Resource"])
    return f"shop-{target}" in text and f"shop-{other}" not in text


def tag_condition(statement: dict) -> dict:
    condition = statement.get("Condition", {})
    return {
        key: value for operator, entries in condition.items() if operator != "Null" for key, value in entries.items() if "Tag/Target" in key
    }


@pytest.mark.parametrize("role, target, other", ENVIRONMENTS)
def test_every_grant_is_limited_to_its_environment_by_name_tag_or_listed_wildcard(rendered, role, target, other):
    _, root = rendered
    for statement in deploy_role_statements(root, role):
        resources = as_list(statement["Resource"])
        actions = as_list(statement["Action"])
        if resources == ["*"]:
            assert all(a in policies.WILDCARD_RESOURCE_ACTIONS for a in actions), statement
            if "kms:CreateKey" in actions:
                assert statement["Condition"] == {"StringEquals": {"aws:RequestTag/Target": target}}
        elif statement.get("Sid") == "PackagedAssets":  # the bootstrap bucket: its own nested templates and code, read only
            assert actions == ["s3:GetObject", "s3:GetObjectVersion"]
            assert resources == [
                {"Fn::Sub": [f"arn:${{AWS::Partition}}:s3:::${{Bucket}}/targets/{target}/*", {"Bucket": {"Ref": names.ASSETS_BUCKET}}]}
            ]
        elif tag_condition(statement):
            assert set(tag_condition(statement).values()) == {target}
            if "aws:ResourceTag/Target" not in statement["Condition"].get("StringEquals", {}):
                # creating: only on resources with no Target tag yet, so another environment's cannot be claimed
                assert statement["Condition"]["Null"] == {"aws:ResourceTag/Target": "true"}
        elif statement.get("Sid") == "ServiceLinkedRoles":
            assert actions == ["iam:CreateServiceLinkedRole"] and "iam:AWSServiceName" in statement["Condition"]["StringEquals"]
        else:
            assert names_only_its_environment(statement, target, other), statement


@pytest.mark.parametrize("role, target, other", ENVIRONMENTS)
def test_roles_are_written_only_with_the_boundary_and_passed_only_to_their_services(rendered, role, target, other):
    _, root = rendered
    found = {s.get("Sid"): s for s in deploy_role_statements(root, role)}
    boundary = f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/shop-{target}-boundary"
    bounded = found["RolesOnlyWithTheBoundary"]
    assert "iam:CreateRole" in bounded["Action"] and "iam:PutRolePolicy" in bounded["Action"]
    assert bounded["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": {"Fn::Sub": boundary}}}
    unbounded = [a for s in found.values() if s is not bounded for a in as_list(s["Action"])]
    assert not set(unbounded) & deploy_roles.BOUNDED_IAM_ACTIONS
    assert "iam:DeleteRolePermissionsBoundary" not in unbounded
    passed = found["PassEnvironmentRoles"]["Condition"]["StringEquals"]["iam:PassedToService"]
    assert "ecs-tasks.amazonaws.com" in passed and "cloudformation.amazonaws.com" not in passed


def test_every_environment_role_carries_its_boundary_which_the_pipeline_renders(rendered):
    config, root = rendered
    boundaries = {props(root, t).get("ManagedPolicyName") for t in resources_of_type(root, "AWS::IAM::ManagedPolicy")}
    for env in config.environments:
        rendered_env = render(env)
        default = rendered_env[names.ROOT_TEMPLATE]["Parameters"][names.PERMISSIONS_BOUNDARY_NAME]["Default"]
        assert default in boundaries
        for template in rendered_env.values():
            for title in resources_of_type(template, "AWS::IAM::Role"):
                assert props(template, title)["PermissionsBoundary"]["Fn::Sub"][1] == {"Name": {"Ref": names.PERMISSIONS_BOUNDARY_NAME}}


def test_an_unscoped_service_is_refused_not_wildcarded():
    env = deploy_roles.Environment("shop", "staging", {})
    with pytest.raises(deploy_roles.UnscopedAction, match="sqs:SendMessage"):
        deploy_roles.scoped_statements({"sqs:SendMessage"}, env, "Deploy")


def test_thirty_services_need_no_more_policy_room(make_pipeline_config):
    from tests.conftest import make_services

    config = make_pipeline_config(
        project={"services": make_services(30)}, pipeline={"build": {"test_commands": []}, "integration_tests": []}
    )
    root = render(config)[names.ROOT_TEMPLATE]
    for role, _, _ in ENVIRONMENTS:
        attached = deploy_role_policies(root, role)
        assert 1 <= len(attached) <= 10
        assert all(deploy_roles.size(props(root, title)["PolicyDocument"]) <= 6144 for title in attached)


def reference_supports(action: str, key: str) -> bool | None:
    """Whether the IAM service authorization reference (parliament's copy) lists ``key`` for ``action``; None if unknown."""
    rows = action_condition_keys().get(action)
    if rows is None:
        return None
    return any(k.startswith(key) for keys in rows for k in keys)


@functools.cache
def action_condition_keys() -> dict[str, list[list[str]]]:
    """Per action (``service:Privilege``), the condition keys of each resource type it lists: the row's own and its
    resource's. Built once: the reference is 10 MB of JSON."""
    index = {}
    for prefix, service in service_reference().items():
        resources = {r["resource"]: r["condition_keys"] for r in service["resources"]}
        for privilege in service["privileges"]:
            rows = [row["condition_keys"] + resources.get(row["resource_type"].rstrip("*"), []) for row in privilege["resource_types"]]
            index.setdefault(f"{prefix}:{privilege['privilege']}", rows)  # a service's first entry of a privilege, if listed twice
    return index


@pytest.mark.parametrize("role, target, other", ENVIRONMENTS)
def test_tag_conditions_only_on_actions_that_support_them_in_the_service_authorization_reference(rendered, role, target, other):
    _, root = rendered
    for statement in deploy_role_statements(root, role):
        condition = statement.get("Condition", {})
        if "aws:ResourceTag/Target" in condition.get("StringEquals", {}):
            # An action without the key could never match: the deploy would be refused.
            assert [a for a in statement["Action"] if reference_supports(a, "aws:ResourceTag") is False] == [], statement["Sid"]
        if "Null" in condition:
            # KMS authorizes PutKeyPolicy on the key CreateKey is creating, with that request's tags (see deploy_roles).
            unsupported = [a for a in statement["Action"] if reference_supports(a, "aws:RequestTag") is False]
            assert unsupported in ([], ["kms:PutKeyPolicy"]), statement["Sid"]
