"""Render targets into build/<target>/ and run the check stages over them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from builder.files import write_atomically
from builder.stages import BuildResult, Rendered, Stage, TemplateReport, check  # noqa: F401 (TemplateReport: re-exported)
from templates import config as config_module
from templates import render as rendering
from templates.config import pipeline as pipeline_config


def write_target(rendered: dict[str, dict], directory: Path) -> dict[Path, str]:
    """Write every template of a target, replacing what an earlier build left there."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.json"):
        if stale.name not in rendered:
            stale.unlink()
    written = {}
    for name, template in rendered.items():
        text = rendering.to_json(template)
        write_atomically(directory / name, text)  # a full disk leaves the earlier file, never half of a new one
        written[directory / name] = text
    return written


def render_targets(configs: Sequence[config_module.Config | pipeline_config.PipelineConfig], output: Path) -> list[Rendered]:
    """Render every target, then write their templates in the targets' order: a target that cannot be rendered
    (a quota it would pass) leaves no other target's templates half-updated, and every such target is named."""
    problems: list[str] = []
    by_target = []
    for cfg in configs:
        try:
            by_target.append((cfg, rendering.render(cfg)))
        except config_module.ConfigError as error:
            problems += [p for p in error.problems if p not in problems]
    if problems:
        raise config_module.ConfigError(problems)
    rendered = []
    for cfg, templates in by_target:
        for path, text in write_target(templates, output / cfg.target).items():
            rendered.append(Rendered(cfg.target, path, templates[path.name], text))
    return rendered


def build(
    configs: Sequence[config_module.Config | pipeline_config.PipelineConfig], output: Path, stages: Sequence[Stage] = ()
) -> BuildResult:
    """Render every target into ``output``, then run ``stages`` over all of their templates at once."""
    started = time.perf_counter()
    rendered = render_targets(configs, output)
    return check(rendered, stages, render_seconds=time.perf_counter() - started)


def load_targets(parameters: Path, names: list[str]) -> list[config_module.Config | pipeline_config.PipelineConfig]:
    """Load every named target (or all of them), collecting every configuration problem."""
    names = names or config_module.target_names(parameters)
    problems: list[str] = []
    configs = []
    for name in names:
        try:
            configs.append(config_module.load_target(parameters, name))
        except config_module.ConfigError as error:
            problems += [p for p in error.problems if p not in problems]
    if problems:
        raise config_module.ConfigError(problems)
    return configs
