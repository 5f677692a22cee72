"""The Control Tower proactive controls the platform does not meet, where, and why.

Control Tower has no per-resource suppression: an organisation turns a control on for an OU or
not.  So every control a rendered target fails is listed here with the resources it fails on,
the configuration in which it fails, and the reason.  ``security/guard_gate.py`` reads this
table: a failure it lists is reported as excepted, any other failure fails the gate, and so does
a listed failure that no longer happens (the table must stay true).  ``docs/compliance.md``
shows it: ``python -m security.guard_exceptions`` prints the Markdown.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

from templates.config.compliance import COMPLIANCE_LOG_RETENTION_DAYS
from templates.config.model import Config
from templates.config.pipeline import PipelineConfig


@dataclass(frozen=True)
class GuardException:
    control: str
    resources: tuple[str, ...]  # "<template file>:<logical id>" globs
    configuration: str  # where it applies, in the words of the parameter files
    applies: Callable[[object], bool]  # the same, as a test on the target's configuration
    reason: str
    # Which of the matched resources the exception is for, by their properties (the others must pass).
    covers: Callable[[dict], bool] = lambda resource: True

    def matches(self, template: str, logical_id: str) -> bool:
        return any(fnmatch.fnmatchcase(f"{template}:{logical_id}", pattern) for pattern in self.resources)


def environment(test: Callable[[Config], bool]) -> Callable[[object], bool]:
    return lambda config: isinstance(config, Config) and test(config)


def pipeline(test: Callable[[PipelineConfig], bool]) -> Callable[[object], bool]:
    return lambda config: isinstance(config, PipelineConfig) and test(config)


def every_target(config: object) -> bool:
    return True


EXCEPTIONS: tuple[GuardException, ...] = (
    # --- what the design needs, in every configuration -----------------------------------
    GuardException(
        "CT.LAMBDA.PR.3", ("health-check.json:CanaryFunction",), "every environment", environment(lambda c: True),
        "The canary checks the public URLs as users see them. Inside private subnets without NAT it could not reach "
        "the ALB's public addresses (the hook copy of the same code does run inside the VPC).",
    ),
    GuardException(
        "CT.S3.PR.10", ("load-balancer.json:AccessLogBucket",), "every environment", environment(lambda c: True),
        "ALB access logs are delivered only to buckets encrypted with SSE-S3 (Elastic Load Balancing User Guide, "
        "'Access logs for your Application Load Balancer': SSE-KMS is not supported).",
    ),
    GuardException(
        "CT.S3.PR.10", ("*:ServerAccessLogBucket",), "compliance: control-tower", environment(lambda c: c.compliant),
        "The bucket that receives S3 server access logs: the S3 User Guide documents SSE-S3 as the default "
        "encryption log delivery supports on it (reports of SSE-KMS working with a key policy for "
        "logging.s3.amazonaws.com exist, but are not relied on).",
    ),
    GuardException(
        "CT.S3.PR.2", ("*:ServerAccessLogBucket",), "compliance: control-tower", environment(lambda c: c.compliant),
        "The bucket that receives S3 server access logs would log into itself, an infinite loop of logs the S3 "
        "User Guide advises against ('Enabling Amazon S3 server access logging').",
    ),
    GuardException(
        "CT.S3.PR.4", ("*:*Bucket",), "every target", every_target,
        "Log, archive and artifact buckets have no consumer of object events; notifications would be sent for "
        "every log file to nobody. Access is recorded by server access logging and CloudTrail.",
    ),
    GuardException(
        "CT.S3.PR.9", ("*:*Bucket",), "every target", every_target,
        "The buckets hold logs and build artifacts that lifecycle rules expire after the configured days; "
        "Object Lock would keep every version past that, and a bucket with Object Lock cannot receive S3 server "
        "access logs (S3 User Guide, 'Enabling Amazon S3 server access logging').",
    ),
    GuardException(
        "CT.CODEBUILD.PR.4", ("root.json:*Build",), "the pipeline target", pipeline(lambda c: True),
        "The image builds (the privileged projects, one per service) run `docker build`, which needs the privileged "
        "Docker daemon; the projects run only this repository's buildspec. The test, package and release projects "
        "are not privileged, so they pass the control.",
        covers=lambda resource: resource.get("Properties", {}).get("Environment", {}).get("PrivilegedMode") is True,
    ),
    GuardException(
        "CT.CLOUDWATCH.PR.1",
        ("service*.json:HealthyHostsAlarm", "service*.json:RunningTasksAlarm", "monitoring.json:CanaryAlarm",
         "monitoring.json:OffHoursAlarm"),
        "services.scaling.off_hours set",
        environment(lambda c: bool(c.environment.services.scaling.off_hours.stop)),
        "In a scale-to-zero window these alarms would fire every night. They notify through the composite "
        "AnyServiceUnhealthyAlarm, which has the alert topic as its action and the off-hours alarm as its actions "
        "suppressor (CloudWatch User Guide, 'Composite alarms': actions suppression); the off-hours alarm only "
        "marks the window, so none of them carries an action of its own.",
    ),
    # --- what an environment chooses when compliance is off -------------------------------
    GuardException(
        "CT.CLOUDWATCH.PR.2", ("*:*",), f"logs.retention_days below {COMPLIANCE_LOG_RETENTION_DAYS}",
        environment(lambda c: c.environment.logs.retention_days < COMPLIANCE_LOG_RETENTION_DAYS),
        "Short-lived environments keep logs for less than a year to save cost; compliance: control-tower keeps them a year.",
    ),
    GuardException(
        "CT.CLOUDWATCH.PR.2", ("root.json:*",), f"pipeline logs.retention_days below {COMPLIANCE_LOG_RETENTION_DAYS}",
        pipeline(lambda c: c.pipeline.logs.retention_days < COMPLIANCE_LOG_RETENTION_DAYS),
        "Build logs are kept for the pipeline file's logs.retention_days; set 365 or more to meet the control.",
    ),
    GuardException(
        "CT.CLOUDWATCH.PR.3", ("*:*",), "logs.kms_encrypted: false", environment(lambda c: not c.environment.logs.kms_encrypted),
        "The environment chose CloudWatch Logs' default encryption at rest; compliance: control-tower uses its KMS key.",
    ),
    GuardException(
        "CT.S3.PR.2", ("load-balancer.json:AccessLogBucket", "monitoring.json:LogArchiveBucket"), "compliance off",
        environment(lambda c: not c.compliant),
        "Server access logging needs one more bucket per stack; compliance: control-tower adds it.",
    ),
    GuardException(
        "CT.S3.PR.2", ("root.json:ArtifactBucket",), "the pipeline target", pipeline(lambda c: True),
        "The pipeline target has no compliance setting yet: its artifact bucket, read and written only by the "
        "pipeline's roles, has no server access log bucket.",
    ),
    GuardException(
        "CT.ELASTICLOADBALANCING.PR.1", ("load-balancer.json:HttpListener", "load-balancer.json:TestListener"),
        "no load_balancer.certificate_arn", environment(lambda c: not c.environment.load_balancer.certificate_arn),
        "Without a certificate the ALB serves plain HTTP; compliance: control-tower requires a certificate, and "
        "then port 80 redirects to HTTPS and the test listener serves HTTPS.",
    ),
    GuardException(
        "CT.ELASTICLOADBALANCING.PR.5", ("load-balancer.json:LoadBalancer",), "load_balancer.deletion_protection: false",
        environment(lambda c: not c.environment.load_balancer.deletion_protection),
        "Disposable environments can be deleted in one step; compliance: control-tower turns deletion protection on.",
    ),
    GuardException(
        "CT.ECS.PR.2", ("cluster.json:Cluster",), "cluster.container_insights other than enabled",
        environment(lambda c: c.environment.cluster.container_insights != "enabled"),
        "The control accepts only 'enabled': 'disabled' saves cost; 'enhanced' collects more but is refused by "
        "the control's rule, so compliance: control-tower accepts 'enabled' only.",
    ),
)


def markdown(table: tuple[GuardException, ...] = EXCEPTIONS) -> str:
    lines = ["| control | resources | configuration | reason |", "| --- | --- | --- | --- |"]
    for entry in table:
        resources = ", ".join(f"`{r}`" for r in entry.resources)
        lines.append(f"| {entry.control} | {resources} | {entry.configuration} | {entry.reason} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
