"""Render targets into build/<target>/, run the check stages over them and report on each template."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from builder.stages import Checked, Finding, Rendered, Stage
from templates import config as config_module
from templates import pipeline_config, targets


@dataclass(frozen=True)
class TemplateReport:
    file: Path
    resources: int
    parameters: int
    outputs: int
    size: int
    findings: tuple[Finding, ...]
    target: str = ""
    checks: dict[str, Checked] = field(default_factory=dict)  # stage name -> what it found and cost here


@dataclass
class BuildResult:
    reports: list[TemplateReport] = field(default_factory=list)
    render_seconds: float = 0.0
    # stage name -> wall time from its start to its results (stages overlap, so these may add up to more than the whole)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    check_seconds: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        return [f for report in self.reports for f in report.findings]

    @property
    def lint_seconds(self) -> float:
        return self.stage_seconds.get("lint", 0.0)


def write_target(rendered: dict[str, dict], directory: Path) -> dict[Path, str]:
    """Write every template of a target, replacing what an earlier build left there."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.json"):
        if stale.name not in rendered:
            stale.unlink()
    written = {}
    for name, template in rendered.items():
        text = targets.to_json(template)
        (directory / name).write_text(text, encoding="utf-8")
        written[directory / name] = text
    return written


def render_targets(configs: Sequence[config_module.Config | pipeline_config.PipelineConfig], output: Path) -> list[Rendered]:
    """Render and write every target's templates, in the targets' order."""
    rendered = []
    for cfg in configs:
        templates = targets.render(cfg)
        for path, text in write_target(templates, output / cfg.target).items():
            rendered.append(Rendered(cfg.target, path, templates[path.name], text))
    return rendered


def run_stages(rendered: Sequence[Rendered], stages: Sequence[Stage]) -> tuple[dict[str, list[Checked]], dict[str, float]]:
    """Start every stage, then collect each: a stage working in other processes overlaps the ones after it."""
    started = {}
    collects = []
    for stage in stages:
        started[stage.name] = time.perf_counter()
        collects.append((stage, stage.start(rendered)))
    checked, seconds = {}, {}
    for stage, collect in collects:
        checked[stage.name] = collect()
        seconds[stage.name] = time.perf_counter() - started[stage.name]
    return checked, seconds


def build(
    configs: Sequence[config_module.Config | pipeline_config.PipelineConfig], output: Path, stages: Sequence[Stage] = ()
) -> BuildResult:
    """Render every target into ``output``, then run ``stages`` over all of their templates at once."""
    result = BuildResult()
    started = time.perf_counter()
    rendered = render_targets(configs, output)
    result.render_seconds = time.perf_counter() - started
    started = time.perf_counter()
    checked, result.stage_seconds = run_stages(rendered, stages)
    result.check_seconds = time.perf_counter() - started
    for index, item in enumerate(rendered):
        checks = {name: results[index] for name, results in checked.items()}
        result.reports.append(
            TemplateReport(
                file=item.path,
                resources=len(item.template.get("Resources", {})),
                parameters=len(item.template.get("Parameters", {})),
                outputs=len(item.template.get("Outputs", {})),
                size=len(item.text.encode("utf-8")),
                findings=tuple(f for stage in stages for f in checks[stage.name].findings),
                target=item.target,
                checks=checks,
            )
        )
    return result


def load_targets(parameters: Path, names: list[str]) -> list[config_module.Config | pipeline_config.PipelineConfig]:
    """Load every named target (or all of them), collecting every configuration problem."""
    names = names or targets.target_names(parameters)
    problems: list[str] = []
    configs = []
    for name in names:
        try:
            configs.append(targets.load_target(parameters, name))
        except config_module.ConfigError as error:
            problems += [p for p in error.problems if p not in problems]
    if problems:
        raise config_module.ConfigError(problems)
    return configs
