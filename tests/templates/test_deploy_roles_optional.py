"""Optional features in the environments the pipeline deploys: their deploy roles derive, suffice and stay isolated.

Every documented optional key is switched on in both pipeline targets at once (features break in combination):
the off-hours schedules, the hosted zone's alias record, HTTPS, NAT, the log archive and compliance.
"""

from __future__ import annotations

import pytest
import yaml
from troposphere import encode_to_dict

from builder import preflight
from templates.config import ConfigError, load_pipeline, load_target
from templates.iam import deploy_roles
from templates.render import render
from tests.conftest import SAMPLE, merge, read_yaml

EVERYTHING_ON = {
    "protected": True,
    "compliance": "control-tower",
    "network": {"nat_mode": "single"},
    "load_balancer": {
        "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
        "plain_http": None,
        "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
        "deletion_protection": None,
    },
    "logs": {"archive": True, "retention_days": None, "kms_encrypted": None},  # None: left to compliance
    "services": {"scaling": {"off_hours": {"stop": "cron(0 20 ? * MON-FRI *)", "start": "cron(0 7 ? * MON-FRI *)"}}},
}
DOMAINS = {"staging": "staging.shop.example.com", "production": "shop.example.com"}


@pytest.fixture(scope="module")
def everything_on(tmp_path_factory):
    directory = tmp_path_factory.mktemp("everything-on")
    for name in SAMPLE.glob("*.yaml"):
        (directory / name.name).write_text(name.read_text())
    for target, domain in DOMAINS.items():
        settings = merge(read_yaml(f"{target}.yaml"), merge(EVERYTHING_ON, {"load_balancer": {"domain_name": domain}}))
        (directory / f"{target}.yaml").write_text(yaml.safe_dump(settings))
    return directory


def test_the_pipeline_renders_with_every_option_on_in_the_targets_it_deploys(everything_on):
    targets = {name: render(load_target(everything_on, name)) for name in ("staging", "production", "pipeline")}
    configs = [load_target(everything_on, name) for name in targets]
    report = preflight.run(targets, configs)
    assert [str(f) for f in report.findings] == []
    assert report.checks["deploy-role-isolation"] > 10


def test_record_changes_are_limited_to_the_environments_own_names(everything_on):
    pipeline = load_pipeline(everything_on)
    for target, domain in DOMAINS.items():
        env = deploy_roles.Environment(pipeline.project.name, target, render(pipeline.environment(target)))
        statements = [s for s in deploy_roles.deploy_statements(env, "bucket") if s.Sid == "DeployRoute53Records"]
        [statement] = [encode_to_dict(s) for s in statements]
        assert statement["Condition"] == {"ForAllValues:StringEquals": {deploy_roles.RECORD_NAMES_KEY: [domain]}}
        assert statement["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:route53:::hostedzone/Z0123456789ABCDEFGHIJ"}]


def test_schedules_are_named_after_their_environment(everything_on):
    cfg = load_target(everything_on, "staging")
    monitoring = render(cfg)["monitoring.json"]["Resources"]
    names = [r["Properties"]["Name"] for r in monitoring.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert names == [f"{cfg.stack_prefix}-offhours-on", f"{cfg.stack_prefix}-offhours-off"]


def test_a_resource_no_rule_can_limit_to_its_environment_is_a_configuration_error_naming_it(everything_on, monkeypatch, capsys):
    """A resource type that no name or tag rule covers (here: schedules, with their rule taken away) ends build.py
    with exit 2 and one line naming the environment, the actions and the resources, never a traceback."""
    import build

    monkeypatch.delitem(deploy_roles.NAMED, "scheduler")
    with pytest.raises(ConfigError) as error:
        render(load_pipeline(everything_on))
    [line] = error.value.problems
    assert line.startswith("staging: the pipeline cannot derive staging's deploy role: scheduler:CreateSchedule")
    assert "monitoring.json: OffHoursStartSchedule (AWS::Scheduler::Schedule)" in line and "staging.yaml" in line
    assert build.main(["--parameters", str(everything_on), "--env", "pipeline", "--no-lint", "--output", str(everything_on / "out")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("or a scoping rule for the service there")
