"""The environment's ECS cluster with Container Insights and Fargate capacity providers."""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Template, ecs

from templates import names
from templates.config.model import Config
from templates.stacks.common import new_template, skip_checks, tags


def capacity_strategy(config: Config) -> list[ecs.CapacityProviderStrategyItem]:
    settings = config.environment.cluster
    items = [
        ecs.CapacityProviderStrategyItem(CapacityProvider="FARGATE", Weight=settings.fargate_weight, Base=settings.fargate_base),
        ecs.CapacityProviderStrategyItem(CapacityProvider="FARGATE_SPOT", Weight=settings.fargate_spot_weight),
    ]
    # A provider with weight 0 and no base would never run a task; leave it out.
    return [item for item in items if item.properties["Weight"] or item.properties.get("Base")]


def build(config: Config) -> Template:
    template = new_template(f"{config.stack_prefix}: ECS cluster")
    cluster = template.add_resource(
        ecs.Cluster(
            "Cluster",
            ClusterName=config.stack_prefix,
            ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value=config.environment.cluster.container_insights)],
            CapacityProviders=["FARGATE", "FARGATE_SPOT"],
            DefaultCapacityProviderStrategy=capacity_strategy(config),
            Tags=tags(config),
        )
    )
    if config.environment.cluster.container_insights == "disabled":
        skip_checks(cluster, {"CKV_AWS_65": "this environment's cluster.container_insights is disabled to save cost"})
    template.add_output(Output(names.CLUSTER_NAME, Value=Ref(cluster)))
    template.add_output(Output(names.CLUSTER_ARN, Value=GetAtt(cluster, "Arn")))
    return template
