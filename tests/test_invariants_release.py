"""A release changes only what it releases, on every configuration: a new image tag reaches the task definitions
and, through them, the services, and nothing else; nothing per release is a stack tag (tests/deploy cover that)."""

from __future__ import annotations

from templates import names
from templates.config.model import HOOK_TIMEOUT_MINUTES, camel_case
from tests.templates.helpers import refs


def users(template: dict, name: str) -> set[str]:
    """Resources whose properties name ``name`` (Ref, GetAtt or ${name} in a Sub)."""
    found = set()
    for logical_id, resource in template.get("Resources", {}).items():
        body = resource.get("Properties", {})
        if name in refs(body) or "${" + name + "}" in str(body):
            found.add(logical_id)
    return found


def test_a_new_image_tag_reaches_only_the_task_definitions_and_through_them_the_services(configured_environment):
    rendered = configured_environment.rendered
    root = rendered[names.ROOT_TEMPLATE]
    given = {
        body["Properties"]["TemplateURL"]
        for body in root["Resources"].values()
        if names.IMAGE_TAG in refs(body.get("Properties", {}).get("Parameters", {}))
    }
    assert given and all(file.startswith("service") for file in given), given
    for file in sorted(given):
        template = rendered[file]
        tagged = users(template, names.IMAGE_TAG)
        assert {template["Resources"][r]["Type"] for r in tagged} == {"AWS::ECS::TaskDefinition"}, (file, tagged)
        # A changed task definition is a new revision (a new Ref); the service follows it and is updated in place.
        followers = set().union(*(users(template, r) for r in tagged))
        assert {template["Resources"][r]["Type"] for r in followers} == {"AWS::ECS::Service"}, (file, followers)


def test_a_release_of_a_running_service_leaves_its_desired_count_to_autoscaling(configured_environment):
    """Created with the minimum, none without an image, and omitted (kept) on a release of a running service."""
    minimum = configured_environment.config.environment.services.scaling.min_tasks
    services = [(where, r) for where, t in configured_environment.deployed.items() for r in t["Resources"].values()]
    counts = [r["Properties"]["DesiredCount"] for _, r in services if r["Type"] == "AWS::ECS::Service"]
    assert counts and all(
        count == {"Fn::If": ["KeepDesiredCount", {"Ref": "AWS::NoValue"}, {"Fn::If": ["Running", minimum, 0]}]} for count in counts
    ), counts
    root = configured_environment.rendered[names.ROOT_TEMPLATE]
    for service in configured_environment.config.project.services:
        keep = root["Parameters"][names.service_keep_count_parameter(service.logical_name)]
        assert keep["Default"] == "false"  # a stack created without deploy.py starts every service at its minimum


def test_the_pipelines_release_steps_outlive_a_deployment_and_its_rollback(configured_pipeline):
    """CodeBuild stopping deploy.py mid-release reports a failure while the stack carries on: each step that waits
    for a release waits at least for two blue/green deployments (the release, and the rollback) with their bake."""
    cfg = configured_pipeline.config
    root = configured_pipeline.rendered[names.ROOT_TEMPLATE]["Resources"]
    for mode, target in (("Deploy", cfg.pipeline.staging_target), ("Execute", cfg.pipeline.production_target)):
        bake = cfg.environment(target).environment.services.bake_time_minutes
        timeout = root[f"{mode}{camel_case(target)}Build"]["Properties"]["TimeoutInMinutes"]
        assert 2 * (HOOK_TIMEOUT_MINUTES + bake) < timeout <= 2160, (mode, target, timeout)  # the loader refuses more
