"""The environment's key: its policy admits the role CloudFormation deploys with, so no tag has to propagate first."""

from __future__ import annotations

from templates import names
from templates.stacks import keys
from tests.templates.helpers import props


def test_the_key_policy_admits_the_deploy_role_when_there_is_one(make_config):
    template = keys.build(make_config()).to_dict()
    assert template["Parameters"][names.DEPLOY_ROLE_ARN]["Default"] == ""
    assert template["Conditions"][keys.HAS_DEPLOY_ROLE] == {"Fn::Not": [{"Fn::Equals": [{"Ref": names.DEPLOY_ROLE_ARN}, ""]}]}
    *_, conditional = props(template, "EnvironmentKey")["KeyPolicy"]["Statement"]
    condition, statement, otherwise = conditional["Fn::If"]
    assert (condition, otherwise) == (keys.HAS_DEPLOY_ROLE, {"Ref": "AWS::NoValue"})
    assert statement["Principal"] == {"AWS": [{"Ref": names.DEPLOY_ROLE_ARN}]} and "Condition" not in statement
    # What the key handler calls right after CreateKey, which a tag-conditioned IAM grant may not yet allow.
    right_after_create = {"kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:TagResource", "kms:CreateAlias", "kms:DescribeKey"}
    assert right_after_create <= set(statement["Action"])
    assert "kms:CreateKey" not in statement["Action"]


def test_the_root_passes_the_deploy_role_to_the_keys_stack_only(configured_environment):
    root = configured_environment.rendered[names.ROOT_TEMPLATE]
    assert root["Parameters"][names.DEPLOY_ROLE_ARN]["Default"] == ""
    given = [title for title, r in root["Resources"].items() if names.DEPLOY_ROLE_ARN in r.get("Properties", {}).get("Parameters", {})]
    assert given == ["KeysStack"]
