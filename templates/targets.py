"""Render a deploy target: every template of it, as plain dicts keyed by file name."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

from templates import names, pipeline, pipeline_config, root
from templates.config import Config, available_targets, load
from templates.pipeline_config import PipelineConfig


def target_names(parameters: Path) -> list[str]:
    """Every target: each environment file, and ``pipeline`` when parameters/pipeline.yaml exists."""
    environments = available_targets(parameters)
    return environments + [pipeline_config.TARGET] if pipeline_config.has_pipeline(parameters) else environments


def load_target(parameters: Path, name: str) -> Config | PipelineConfig:
    """One target's validated configuration: the pipeline's, or an environment's."""
    if name == pipeline_config.TARGET and pipeline_config.has_pipeline(parameters):
        return pipeline_config.load_pipeline(parameters)
    return load(parameters, name)


def render(config: Config | PipelineConfig) -> dict[str, dict]:
    """File name -> template dict; the root is ``names.ROOT_TEMPLATE``, nested ones beside it.

    An environment's Config renders the environment's stacks; a PipelineConfig the pipeline's.
    """
    if isinstance(config, PipelineConfig):
        return _rendered(pipeline, config)
    return render_environment(config)


def render_environment(config: Config) -> dict[str, dict]:
    """An environment's templates, rendered once per configuration in this process: a build needs them for the
    environment itself, for the pipeline's deploy roles and boundaries, and for the preflight. Each caller gets its
    own copy (cfn-lint and tests change the dicts they are given)."""
    return copy.deepcopy(_environment(config))


@lru_cache(maxsize=32)
def _environment(config: Config) -> dict[str, dict]:
    return _rendered(root, config)


def _rendered(module, config: Config | PipelineConfig) -> dict[str, dict]:
    children = module.build_children(config)
    rendered = {names.template_file(stem): template.to_dict() for stem, template in children.items()}
    rendered[names.ROOT_TEMPLATE] = module.build(config, children).to_dict()
    return dict(sorted(rendered.items()))


def to_json(template: dict) -> str:
    """The canonical text of a template: sorted keys, so equal input gives equal bytes."""
    return json.dumps(template, indent=2, sort_keys=True) + "\n"
