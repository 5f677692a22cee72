"""Explicit tags where a deploy role's condition reads them, on every configuration.

The deploy role reaches what carries generated names (EC2, Elastic Load Balancing, Application Auto Scaling, KMS:
``deploy_roles.TAGGED``) through the ``Target`` tag, on the resource and on the request that creates it.  A stack's
own tags reach resources by propagation, which "varies by resource type"; every resource of those services that
takes tags carries the environment's explicitly.
"""

from __future__ import annotations

from templates.iam import deploy_roles, handler_permissions


def tag_values(tags) -> dict:
    if isinstance(tags, dict):
        return tags
    return {tag["Key"]: tag["Value"] for tag in tags or [] if isinstance(tag, dict)}


def test_every_resource_a_tag_condition_reaches_carries_its_target_tag(configured_environment):
    checked = 0
    for file, template in configured_environment.deployed.items():
        for logical_id, resource in template["Resources"].items():
            service = resource["Type"].split("::")[1].lower()
            prefixes = {"elasticloadbalancingv2": "elasticloadbalancing", "applicationautoscaling": "application-autoscaling"}
            if prefixes.get(service, service) not in deploy_roles.TAGGED:
                continue
            if "Tags" not in handler_permissions._schema(resource["Type"]).get("properties", {}):
                continue  # the type takes no tags: its handler's calls are scoped another way
            tags = tag_values(resource.get("Properties", {}).get("Tags"))
            assert tags.get(deploy_roles.TARGET_TAG) == configured_environment.config.target, f"{file}: {logical_id}"
            checked += 1
    assert checked > 10
