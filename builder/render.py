"""Render targets into build/<target>/ and report on each template."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from builder.lint import DEFAULT_REGIONS, Finding, lint_template
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


@dataclass
class BuildResult:
    reports: list[TemplateReport] = field(default_factory=list)
    render_seconds: float = 0.0
    lint_seconds: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        return [f for report in self.reports for f in report.findings]


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


def build_target(
    cfg: config_module.Config | pipeline_config.PipelineConfig,
    output: Path,
    result: BuildResult,
    regions: tuple[str, ...] = DEFAULT_REGIONS,
    lint: bool = True,
) -> None:
    started = time.perf_counter()
    rendered = targets.render(cfg)
    written = write_target(rendered, output / cfg.target)
    result.render_seconds += time.perf_counter() - started
    started = time.perf_counter()
    for path, text in written.items():
        template = rendered[path.name]
        findings = tuple(lint_template(path, template, regions)) if lint else ()
        result.reports.append(
            TemplateReport(
                file=path,
                resources=len(template.get("Resources", {})),
                parameters=len(template.get("Parameters", {})),
                outputs=len(template.get("Outputs", {})),
                size=len(text.encode("utf-8")),
                findings=findings,
            )
        )
    result.lint_seconds += time.perf_counter() - started


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
