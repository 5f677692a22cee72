"""The intrinsic-function resolver: realistic, worst-case values, across nested stacks."""

from __future__ import annotations

import pytest

from builder import preflight
from builder.preflight.resolve import DEFAULT_PSEUDO, NO_VALUE, Target, Unresolvable


def two_stacks() -> Target:
    root = {
        "Parameters": {"ImageTag": {"Type": "String"}},
        "Conditions": {"IsLive": {"Fn::Equals": [{"Ref": "ImageTag"}, "live"]}},
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "${AWS::StackName}-alerts"}}},
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {
                    "TemplateURL": "child.json",
                    "Parameters": {"TopicArn": {"Ref": "Topic"}, "Zones": {"Fn::Join": [",", {"Fn::GetAZs": ""}]}},
                },
            },
        },
        "Outputs": {"Url": {"Value": {"Fn::GetAtt": ["Child", "Outputs.Url"]}}},
    }
    child = {
        "Parameters": {"TopicArn": {"Type": "String"}, "Zones": {"Type": "CommaDelimitedList"}},
        "Mappings": {"Sizes": {"small": {"cpu": "256"}}},
        "Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}},
        "Outputs": {"Url": {"Value": {"Fn::Sub": "https://${AWS::Region}.${AWS::URLSuffix}/${Role.Arn}"}}},
    }
    return Target("staging", "shop-staging", {"root.json": root, "child.json": child})


def test_pseudo_parameters_are_worst_case_realistic():
    assert DEFAULT_PSEUDO.partition == "aws-us-gov" and len(DEFAULT_PSEUDO.account_id) == 12 and DEFAULT_PSEUDO.region == "ap-southeast-5"


def test_a_child_sees_what_its_parent_passes_and_the_parent_reads_its_outputs():
    target = two_stacks()
    child = target.stacks[1]
    assert child.file == "child.json"
    assert child.resolve({"Ref": "TopicArn"}) == "arn:aws-us-gov:sns:ap-southeast-5:123456789012:shop-staging-alerts"
    assert child.resolve({"Ref": "Zones"}) == ["ap-southeast-5a", "ap-southeast-5b", "ap-southeast-5c"]
    url = target.root.resolve({"Fn::GetAtt": ["Child", "Outputs.Url"]})
    assert url.startswith("https://ap-southeast-5.amazonaws.com/arn:aws-us-gov:iam::123456789012:role/shop-staging-Child-")


def test_generated_names_have_cloudformations_shape_and_the_service_limit():
    role_name = two_stacks().stacks[1].physical_id("Role")
    assert role_name.startswith("shop-staging-Child-") and len(role_name) <= 64


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, "b"),
        ({"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}]]}, "a-ap-southeast-5"),
        ({"Fn::If": ["IsLive", "yes", "no"]}, "no"),
        ({"Fn::If": ["IsLive", "yes", {"Ref": "AWS::NoValue"}]}, NO_VALUE),
        ({"Fn::Sub": ["${X}:${AWS::Partition}:${!Literal}", {"X": "x"}]}, "x:aws-us-gov:${Literal}"),
        ({"Fn::ImportValue": "shared-vpc"}, "imported-shared-vpc"),
        ({"Fn::Length": [1, 2, 3]}, 3),
    ],
)
def test_intrinsic_functions(value, expected):
    target = two_stacks()
    target.root.parameters["ImageTag"] = "0123abc"
    assert target.root.resolve(value) == expected


def test_find_in_map_in_a_child():
    assert two_stacks().stacks[1].resolve({"Fn::FindInMap": ["Sizes", "small", "cpu"]}) == "256"


def test_an_unknown_reference_is_reported_not_guessed():
    with pytest.raises(Unresolvable, match="Missing"):
        two_stacks().root.resolve({"Ref": "Missing"})


def test_a_rule_meeting_an_unresolvable_value_reports_one_finding_not_a_traceback():
    class Cfg:
        target, stack_prefix = "staging", "shop-staging"

    rendered = {
        "staging": {"root.json": {"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": {"Ref": "Nope"}}}}}}
    }
    report = preflight.run(rendered, [Cfg()])
    assert [str(f) for f in report.findings if f.rule == preflight.RULE_UNRESOLVED] == [
        "staging: -: -: unresolvable: Ref Nope: no such parameter or resource (limit: a value known offline)"
    ]
