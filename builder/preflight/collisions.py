"""No two targets deployed to one account collide: explicit names, and the metric series alarms watch.

Names of IAM roles are unique per account, most other names per account and region
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html, "IAM name requirements"; S3 bucket
names are global). The build assumes its targets share one account and region, the worst case. Two alarms in
different targets that watch the same metric series (namespace, metric name and dimensions) would each fire on
the other target's data (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension).
"""

from __future__ import annotations

import json

from builder.preflight.model import Finding, Report
from builder.preflight.resolve import NAME_PROPERTIES, Target

RULE_NAME = "collision-name"
RULE_METRIC = "collision-alarm-metric"


def _names(target: Target):
    for stack, logical_id, body in target.resources(*NAME_PROPERTIES):
        name = stack.properties(logical_id).get(NAME_PROPERTIES[body["Type"]])
        if isinstance(name, str):
            yield (body["Type"], name.lower() if body["Type"] == "AWS::IAM::Role" else name), stack.file, logical_id


def _series(properties: dict) -> list[str]:
    """The metric series an alarm watches, as comparable text."""
    if "MetricName" in properties:
        metrics = [properties]
    else:
        metrics = [m["MetricStat"]["Metric"] for m in properties.get("Metrics", []) if "MetricStat" in m]
    found = []
    for metric in metrics:
        dimensions = sorted((d["Name"], str(d["Value"])) for d in metric.get("Dimensions", []))
        found.append(json.dumps([metric.get("Namespace"), metric.get("MetricName"), dimensions]))
    return found


def _alarm_series(target: Target):
    for stack, logical_id, _ in target.resources("AWS::CloudWatch::Alarm"):
        for series in _series(stack.properties(logical_id)):
            yield series, stack.file, logical_id


def _first_owner_check(report: Report, rule: str, targets: list[Target], keys, describe) -> None:
    owners: dict = {}
    for target in targets:
        for key, file, logical_id in keys(target):
            owner = owners.setdefault(key, (target.name, file, logical_id))
            ok = owner[0] == target.name
            report.check(
                rule, ok, Finding(target.name, file, logical_id, rule, describe(key), f"unique across targets; also {'/'.join(owner)}")
            )


def check(targets: list[Target]) -> Report:
    report = Report()
    _first_owner_check(report, RULE_NAME, targets, _names, lambda key: f"{key[0]} name {key[1]!r}")
    _first_owner_check(report, RULE_METRIC, targets, _alarm_series, lambda key: f"metric series {key}")
    return report
