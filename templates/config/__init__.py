"""The configuration: ``parameters/*.yaml`` read into frozen, typed, validated models.

| module | holds |
| --- | --- |
| ``fields`` | the value checks every field declares, and what they produce (JSON Schema keywords, stack parameter constraints) |
| ``model`` | the dataclasses of project.yaml and of an environment's <target>.yaml, with their defaults |
| ``reader`` | YAML into a model, every problem at once, each naming the file and the key |
| ``rules`` | cross-field rules, run after the fields are typed |
| ``compliance`` | ``compliance: control-tower``, a transform applied after validation |
| ``loading`` | an environment target: project.yaml and its file, loaded and checked together |
| ``pipeline`` | the pipeline target's settings (pipeline.yaml) |
| ``placeholders`` | values the shipped files hold until a user replaces them |

Nothing here imports troposphere: a test holds the package to that.  The names below are the API the rest
of the project loads configurations through.
"""

from __future__ import annotations

from pathlib import Path

from templates.config.loading import available_targets, load, load_environment, load_project, unknown_target
from templates.config.model import Config
from templates.config.pipeline import TARGET as PIPELINE
from templates.config.pipeline import PipelineConfig, has_pipeline, load_pipeline
from templates.config.reader import ConfigError

__all__ = [
    "PIPELINE",
    "Config",
    "ConfigError",
    "PipelineConfig",
    "available_targets",
    "has_pipeline",
    "load",
    "load_environment",
    "load_pipeline",
    "load_project",
    "load_target",
    "target_names",
    "unknown_target",
]


def target_names(parameters: Path) -> list[str]:
    """Every target: each environment file, and ``pipeline`` when parameters/pipeline.yaml exists."""
    environments = available_targets(parameters)
    return environments + [PIPELINE] if has_pipeline(parameters) else environments


def load_target(parameters: Path, name: str) -> Config | PipelineConfig:
    """One target's validated configuration: the pipeline's, or an environment's."""
    if name == PIPELINE and has_pipeline(parameters):
        return load_pipeline(parameters)
    return load(parameters, name)
