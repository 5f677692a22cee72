"""The Control Tower gate: what the hook sees, how failures meet the exception table, and the real run."""

from __future__ import annotations

import re

import pytest

from security import guard_gate
from security.guard_exceptions import EXCEPTIONS, GuardException, markdown
from security.guard_gate import Control, Failure, Outcome, Target, hook_view, judge, load_controls
from tests.conftest import REPO, SAMPLE, load_target

INSTALLED = (guard_gate.PACKAGE / guard_gate.RULES_SUBDIR).is_dir()
needs_rules = pytest.mark.skipif(not INSTALLED, reason="rules not installed: npm ci --prefix security/guard (the tox guard env does)")


# --- what the hook sees ---------------------------------------------------------------------


def test_hook_view_gives_parameters_values_and_keeps_everything_else():
    template = {
        "Parameters": {
            "KeyArn": {"Type": "String"},
            "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>"},
            "Retention": {"Type": "Number", "Default": 365},
        },
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Group": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"KmsKeyId": {"Ref": "KeyArn"}, "RetentionInDays": {"Ref": "Retention"}, "Other": {"Ref": "Key"}},
            },
            "Function": {"Type": "AWS::Lambda::Function", "Properties": {"VpcConfig": {"SubnetIds": {"Ref": "Subnets"}}}},
            "Named": {
                "Type": "AWS::X::Y",
                "Properties": {
                    "Arn": {"Fn::Sub": "arn:${AWS::Partition}:acm:${AWS::Region}:${AWS::AccountId}:certificate/0a1b"},
                    "Objects": {"Fn::Sub": "${Key.Arn}/*"},
                },
            },
        },
    }
    view = hook_view(template)
    group = view["Resources"]["Group"]["Properties"]
    assert group["KmsKeyId"] == "sample-keyarn"
    assert group["RetentionInDays"] == 365
    assert group["Other"] == {"Ref": "Key"}  # a local resource stays a reference: the rules check it by type
    assert view["Resources"]["Function"]["Properties"]["VpcConfig"]["SubnetIds"] == ["sample-subnets-1", "sample-subnets-2"]
    named = view["Resources"]["Named"]["Properties"]
    assert named["Arn"] == "arn:aws:acm:us-east-1:123456789012:certificate/0a1b"
    assert named["Objects"] == {"Fn::Sub": "${Key.Arn}/*"}  # an attribute of a resource is known only after creation
    assert template["Resources"]["Group"]["Properties"]["KmsKeyId"] == {"Ref": "KeyArn"}  # the rendered template is untouched


def test_controls_are_read_from_the_rule_files(tmp_path):
    (tmp_path / "s3").mkdir()
    (tmp_path / "s3" / "ct-s3-pr-2.guard").write_text(
        "# Reports on:\n#   AWS::S3::Bucket, AWS::S3::BucketPolicy\n#\n"
        "rule s3_bucket_logging_enabled_check when is_cfn_template(%INPUT_DOCUMENT) {\n"
        "  check(x) << [CT.S3.PR.2]: Require server access logging >>\n}\n"
    )
    controls = load_controls(tmp_path)
    rule = "s3_bucket_logging_enabled_check"
    assert controls == {rule: Control("CT.S3.PR.2", rule, ("AWS::S3::Bucket", "AWS::S3::BucketPolicy"))}


def test_an_empty_rules_directory_is_an_error_not_a_pass(tmp_path):
    with pytest.raises(guard_gate.GateError, match="no .guard rules"):
        load_controls(tmp_path)


# --- failures against the table -----------------------------------------------------------

CONTROLS = {"lambda_inside_vpc_check": Control("CT.LAMBDA.PR.3", "lambda_inside_vpc_check", ("AWS::Lambda::Function",))}
CANARY = GuardException("CT.LAMBDA.PR.3", ("health-check.json:CanaryFunction",), "always", lambda c: True, "sees what users see")


def health_check_target() -> Target:
    functions = {name: {"Type": "AWS::Lambda::Function"} for name in ("CanaryFunction", "HookFunction")}
    return Target("parameters", "staging", load_target("staging"), {"health-check.json": {"Resources": functions}})


def test_a_listed_failure_is_excepted_and_another_fails():
    outcome = Outcome({Failure("CT.LAMBDA.PR.3", "health-check.json", name) for name in ("CanaryFunction", "HookFunction")})
    verdict = judge(health_check_target(), outcome, CONTROLS, (CANARY,))
    assert [f.resource for f in verdict.excepted] == ["CanaryFunction"]
    assert [f.resource for f in verdict.failed] == ["HookFunction"]
    assert not verdict.ok


def test_an_excepted_control_that_passes_fails_the_gate():
    verdict = judge(health_check_target(), Outcome(passed={"CT.LAMBDA.PR.3"}), CONTROLS, (CANARY,))
    assert not verdict.failed and not verdict.ok
    assert verdict.stale == ["parameters/staging/health-check.json: CanaryFunction: CT.LAMBDA.PR.3 passes but is excepted (always)"]


def test_an_exception_for_another_configuration_does_not_apply():
    never = GuardException(CANARY.control, CANARY.resources, "never", lambda c: False, "")
    outcome = Outcome({Failure("CT.LAMBDA.PR.3", "health-check.json", "CanaryFunction")})
    verdict = judge(health_check_target(), outcome, CONTROLS, (never,))
    assert [f.resource for f in verdict.failed] == ["CanaryFunction"] and not verdict.stale


# --- the table and its documentation ---------------------------------------------------------


def test_every_exception_has_a_reason_and_a_configuration():
    for entry in EXCEPTIONS:
        assert re.fullmatch(r"CT\.[A-Z0-9-]+\.PR\.\d+", entry.control)
        assert entry.reason.strip() and entry.configuration.strip() and entry.resources


def test_the_compliance_page_shows_the_table_as_the_gate_reads_it():
    page = (REPO / "docs" / "compliance.md").read_text()
    assert markdown() in page, "regenerate the table in docs/compliance.md with python -m security.guard_exceptions"


# --- the real rules over the shipped configuration ------------------------------------------------


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    return guard_gate.evaluate([SAMPLE], tmp_path_factory.mktemp("guard"))


@needs_rules
def test_every_shipped_target_passes_the_gate(shipped):
    verdicts = shipped.verdicts()
    assert {v.target.name for v in verdicts} == {"dev", "staging", "production", "pipeline"}
    assert [line for v in verdicts for line in guard_gate.report([v]) if line.startswith(("FAILED", "STALE"))] == []


@needs_rules
def test_production_fails_only_what_the_design_needs(shipped):
    production = next(v for v in shipped.verdicts() if v.target.name == "production")
    assert {f.control for f in production.excepted} == {"CT.LAMBDA.PR.3", "CT.S3.PR.10", "CT.S3.PR.2", "CT.S3.PR.4", "CT.S3.PR.9"}
    # Each of them only where AWS allows nothing else: the canary, and the log buckets.
    log_buckets = {f.resource for f in production.excepted if f.control in ("CT.S3.PR.10", "CT.S3.PR.2")}
    assert log_buckets == {"AccessLogBucket", "ServerAccessLogBucket"}
    assert {
        "CT.CLOUDWATCH.PR.2",
        "CT.CLOUDWATCH.PR.3",
        "CT.ELASTICLOADBALANCING.PR.1",
        "CT.ELASTICLOADBALANCING.PR.5",
        "CT.ECS.PR.2",
        "CT.ECS.PR.7",
        "CT.KMS.PR.3",
        "CT.S3.PR.8",
    } <= production.passed


@needs_rules
def test_without_the_table_the_gate_fails_and_names_control_and_resource(shipped):
    lines = guard_gate.report(shipped.verdicts(table=()))
    assert "FAILED   examples-shop/production/health-check.json: CanaryFunction: CT.LAMBDA.PR.3" in lines
    assert "FAILED   examples-shop/pipeline/root.json: ApiServiceBuild: CT.CODEBUILD.PR.4" in lines


@needs_rules
def test_every_listed_control_is_a_control_of_the_pinned_rules(shipped):
    known = {control.id for control in shipped.controls.values()}
    assert len(known) > 200
    assert {entry.control for entry in EXCEPTIONS} <= known


@needs_rules
def test_the_gate_exits_non_zero_on_a_configuration_that_fails(write_parameters, tmp_path):
    # dev's settings under compliance: control-tower are refused before anything renders.
    parameters = write_parameters(environment={"compliance": "control-tower"}, target="dev")
    assert guard_gate.main([str(parameters), "--output", str(tmp_path / "out")]) == 2
