"""The cluster stack: Container Insights and capacity provider weights."""

from __future__ import annotations

import pytest

from templates.stacks import cluster
from tests.templates.helpers import props


@pytest.mark.parametrize("level", ["enabled", "enhanced", "disabled"])
def test_container_insights_follows_the_environment(make_config, level):
    template = cluster.build(make_config(environment={"cluster": {"container_insights": level}})).to_dict()
    assert props(template, "Cluster")["ClusterSettings"] == [{"Name": "containerInsights", "Value": level}]


def test_capacity_provider_weights_follow_the_environment(make_config):
    cfg = make_config(environment={"cluster": {"fargate_weight": 1, "fargate_base": 2, "fargate_spot_weight": 3}})
    strategy = props(cluster.build(cfg).to_dict(), "Cluster")["DefaultCapacityProviderStrategy"]
    assert strategy == [
        {"Base": 2, "CapacityProvider": "FARGATE", "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]


def test_a_provider_with_no_weight_and_no_base_is_left_out(make_config):
    cfg = make_config(environment={"cluster": {"fargate_weight": 0, "fargate_base": 0, "fargate_spot_weight": 1}})
    strategy = props(cluster.build(cfg).to_dict(), "Cluster")["DefaultCapacityProviderStrategy"]
    assert [s["CapacityProvider"] for s in strategy] == ["FARGATE_SPOT"]
