"""The IAM audit over every rendered template of every target, and proof that it can fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from security import iam_audit
from security.policies_in_templates import policies
from templates.iam.policies import WILDCARD_RESOURCE_ACTIONS, allow, wildcard_statement
from templates.render import render
from tests.conftest import ALL_TARGETS, PIPELINE, TARGETS, make_services, render_target

BAD = json.loads((Path(__file__).parent / "fixtures" / "bad_policies.json").read_text())


def rendered_targets(make_config=None):
    for target in TARGETS:
        yield target, render_target(target)


@pytest.mark.parametrize("target", TARGETS)
def test_every_policy_of_every_target_passes_the_audit(target):
    rendered = render_target(target)
    offences = [o for name, template in rendered.items() for o in iam_audit.audit(f"{target}/{name}", template)]
    assert not offences, "\n" + "\n".join(map(str, offences))


def test_thirty_services_pass_the_audit(make_config):
    rendered = render(make_config(project={"services": make_services(30)}, target="production"))
    assert [o for name, t in rendered.items() for o in iam_audit.audit(name, t)] == []


def test_the_audit_finds_policies_in_every_target():
    kinds = {p.kind for _, rendered in rendered_targets() for name, t in rendered.items() for p in policies(name, t)}
    assert {"identity", "resource", "key", "trust"} <= kinds


def test_a_deliberately_bad_template_is_caught_with_template_resource_and_statement():
    offences = [str(o) for o in iam_audit.audit("bad.json", BAD)]
    expected = [
        'bad.json: GreedyRole: Policies[0].Statement[0] (Everything): Action "*"',
        'bad.json: GreedyRole: Policies[0].Statement[0] (Everything): Resource "*" for *, not a listed exception',
        "bad.json: GreedyRole: Policies[0].Statement[1] (AllOfS3): s3:*: every action of a service",
        "bad.json: GreedyRole: Policies[0].Statement[2] (AllButIam): NotAction with Allow grants everything not listed",
        'bad.json: GreedyRole: Policies[0].Statement[3] (TypoAndStar): Resource "*" for logs:PutLogEvents, s3:GetObjekt, '
        "not a listed exception",
        'bad.json: OpenBucketPolicy: PolicyDocument.Statement[0]: Resource "*" for s3:GetObject, not a listed exception',
        'bad.json: OpenBucketPolicy: PolicyDocument.Statement[0]: Principal "*" allowed without a condition',
    ]
    assert sorted(offences) == sorted(expected)


def test_deny_statements_may_use_wildcards():
    template = {
        "Resources": {
            "P": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"PolicyDocument": {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}},
            }
        }
    }
    assert iam_audit.audit("t", template) == []


def test_every_wildcard_exception_has_a_reason():
    assert all(len(reason) > 20 for reason in WILDCARD_RESOURCE_ACTIONS.values())


def test_the_factories_refuse_unlisted_wildcards():
    with pytest.raises(ValueError, match="wildcard_statement"):
        allow(["s3:GetObject"], ["*"])
    with pytest.raises(ValueError, match="not in WILDCARD_RESOURCE_ACTIONS"):
        wildcard_statement(["s3:GetObject"])


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_every_policy_of_every_rendered_target_including_the_pipeline_passes_the_audit(target):
    rendered = render_target(target)
    offences = [o for name, template in rendered.items() for o in iam_audit.audit(f"{target}/{name}", template)]
    assert not offences, "\n" + "\n".join(map(str, offences))


def test_the_pipeline_with_thirty_services_passes_the_audit(make_pipeline_config):
    cfg = make_pipeline_config(project={"services": make_services(30)}, pipeline={"build": {"test_commands": []}, "integration_tests": []})
    assert [o for name, t in render(cfg).items() for o in iam_audit.audit(name, t)] == []


def test_the_audit_finds_the_pipelines_policies():
    rendered = render_target(PIPELINE)
    assert {"identity", "resource", "key", "trust"} <= {p.kind for name, t in rendered.items() for p in policies(name, t)}
