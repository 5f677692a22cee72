"""A release changes only what it releases, on every configuration: a new image tag reaches the task definitions
and, through them, the services, and nothing else; nothing per release is a stack tag (tests/deploy cover that)."""

from __future__ import annotations

from templates import names
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
