"""The root stack and the contract between every parent and child template."""

from __future__ import annotations

import copy

import pytest

from templates import config as config_module
from templates import names
from templates.render import render, to_json
from tests.conftest import ALL_TARGETS, PIPELINE, SAMPLE, TARGETS, make_services, render_target
from tests.templates.contract import violations


@pytest.fixture(params=TARGETS)
def rendered(request) -> dict[str, dict]:
    return render_target(request.param)


def test_nested_stack_contract_holds_for_every_target(rendered):
    assert violations(rendered, names.ROOT_TEMPLATE) == []


@pytest.mark.parametrize("az_count", [2, 3])
@pytest.mark.parametrize("nat_mode", ["none", "single", "per-az"])
@pytest.mark.parametrize("kms_encrypted", [True, False])
def test_contract_holds_across_network_shapes(make_config, az_count, nat_mode, kms_encrypted):
    cfg = make_config(environment={"network": {"az_count": az_count, "nat_mode": nat_mode}, "logs": {"kms_encrypted": kms_encrypted}})
    assert violations(render(cfg), names.ROOT_TEMPLATE) == []


def test_contract_check_catches_each_kind_of_break(rendered):
    broken = copy.deepcopy(rendered)
    stack = broken[names.ROOT_TEMPLATE]["Resources"]["LoadBalancerStack"]["Properties"]
    stack["Parameters"]["Colour"] = "blue"
    del stack["Parameters"][names.VPC_ID]
    broken[names.ROOT_TEMPLATE]["Outputs"]["Missing"] = {"Value": {"Fn::GetAtt": ["LoadBalancerStack", "Outputs.Nope"]}}
    found = violations(broken, names.ROOT_TEMPLATE)
    assert any("passes 'Colour'" in v for v in found)
    assert any(f"does not pass '{names.VPC_ID}'" in v for v in found)
    assert any("Outputs.Nope" in v for v in found)


def test_children_are_wired_from_the_stack_that_outputs_each_name(rendered):
    resources = rendered[names.ROOT_TEMPLATE]["Resources"]
    passed = resources["LoadBalancerStack"]["Properties"]["Parameters"]
    assert passed[names.VPC_ID] == {"Fn::GetAtt": ["NetworkStack", f"Outputs.{names.VPC_ID}"]}


def test_network_receives_the_key_only_when_logs_are_encrypted(make_config):
    for encrypted in (True, False):
        root = render(make_config(environment={"logs": {"kms_encrypted": encrypted}}))[names.ROOT_TEMPLATE]
        passed = root["Resources"]["NetworkStack"]["Properties"].get("Parameters", {})
        assert (names.ENVIRONMENT_KEY_ARN in passed) is encrypted


def test_root_outputs_the_public_url(rendered):
    assert names.PUBLIC_URL in rendered[names.ROOT_TEMPLATE]["Outputs"]


def test_rendering_is_deterministic():
    cfg = config_module.load(SAMPLE, "production")
    first = {k: to_json(v) for k, v in render(cfg).items()}
    second = {k: to_json(v) for k, v in render(cfg).items()}
    assert first == second


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_nested_stack_contract_holds_for_every_rendered_target_including_the_pipeline(target):
    assert violations(render_target(target), names.ROOT_TEMPLATE) == []


def test_pipeline_contract_catches_a_missing_ecr_output():
    broken = copy.deepcopy(render_target(PIPELINE))
    output = next(iter(broken["ecr.json"]["Outputs"]))
    del broken["ecr.json"]["Outputs"][output]
    assert any(f"Outputs.{output}" in v for v in violations(broken, names.ROOT_TEMPLATE))


def test_pipeline_contract_holds_with_thirty_services(make_pipeline_config):
    cfg = make_pipeline_config(project={"services": make_services(30)}, pipeline={"build": {"test_commands": []}, "integration_tests": []})
    assert violations(render(cfg), names.ROOT_TEMPLATE) == []
