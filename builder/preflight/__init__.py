"""Preflight: what AWS enforces at deploy time that can be known offline, checked on every rendered target.

Each rule family is a module with a ``check`` function returning a ``Report`` (checks made per rule, and one
``Finding`` per failed check). ``run`` applies every rule to the targets of one build; docs/preflight.md lists
the rules, their limits and sources.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from builder.preflight import build_inputs, cloudformation, codepipeline, collisions, deploy_roles, iam, names, reachability
from builder.preflight.model import Finding, Report
from builder.preflight.resolve import Target, Unresolvable
from templates.config import pipeline as pipeline_config

__all__ = ["Finding", "Report", "run", "PER_TARGET_RULES"]

PER_TARGET_RULES = (iam.check, codepipeline.check, names.check, cloudformation.check, cloudformation.check_parameters, reachability.check)


def run(
    rendered: dict[str, dict[str, dict]],
    configs: list,
    render_missing: Callable[[str], dict[str, dict]] | None = None,
    parameters: Path | None = None,
) -> Report:
    """Check every target of a build.

    ``rendered``: target name -> file name -> template; ``configs``: their loaded configurations (for the stack
    names); ``render_missing(name)`` renders a target the pipeline deploys that this build did not render;
    ``parameters``: the configuration's directory, whose repository the build inputs are looked for in.
    """
    report = Report()
    built = {cfg.target: Target(cfg.target, cfg.stack_prefix, rendered[cfg.target]) for cfg in configs}
    for target in built.values():
        for rule in PER_TARGET_RULES:
            _apply(report, target.name, lambda: rule(target))  # noqa: B023 (called at once)
    for cfg in configs:
        if isinstance(cfg, pipeline_config.PipelineConfig):
            deployed = _deployed(cfg, built, render_missing)
            _apply(report, cfg.target, lambda: deploy_roles.check(built[cfg.target], deployed, cfg.project.name))  # noqa: B023
            if parameters is not None:
                report.merge(build_inputs.check(cfg, parameters))
    _apply(report, "*", lambda: collisions.check(list(built.values())))
    return report


RULE_UNRESOLVED = "unresolvable"


def _apply(report: Report, target: str, check: Callable[[], Report]) -> None:
    """Merge a rule's report; a value the resolver cannot know offline becomes one finding, never a traceback."""
    try:
        report.merge(check())
    except Unresolvable as error:
        finding = Finding(target, "-", "-", RULE_UNRESOLVED, str(error), "a value known offline")
        if all(f.value != finding.value for f in report.findings):  # several rules may meet the same value
            report.check(RULE_UNRESOLVED, False, finding)


def _deployed(cfg: pipeline_config.PipelineConfig, built: dict[str, Target], render_missing) -> dict[str, Target]:
    deployed = {}
    for name in (cfg.pipeline.staging_target, cfg.pipeline.production_target):
        if name in built:
            deployed[name] = built[name]
        elif render_missing is not None:
            deployed[name] = Target(name, cfg.environment_stack(name), render_missing(name))
    return deployed
