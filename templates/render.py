"""Render a deploy target: every template of it, as plain dicts keyed by file name.

The environments are rendered first; the pipeline's build is handed their templates, from which it derives
each environment's deploy role and permissions boundary.  So the pipeline's stack modules never render an
environment themselves, and nothing imports back up into this module.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache

from troposphere import Template

from templates import names
from templates.config.model import Config
from templates.config.pipeline import PipelineConfig
from templates.config.reader import ConfigError
from templates.iam.deploy_roles import UnscopedAction
from templates.stacks import pipeline, root


def render(config: Config | PipelineConfig) -> dict[str, dict]:
    """File name -> template dict; the root is ``names.ROOT_TEMPLATE``, nested ones beside it.

    An environment's Config renders the environment's stacks; a PipelineConfig the pipeline's.
    """
    if isinstance(config, PipelineConfig):
        return render_pipeline(config)
    return render_environment(config)


def render_environment(config: Config) -> dict[str, dict]:
    """An environment's templates, rendered once per configuration in this process: a build needs them for the
    environment itself, for the pipeline's deploy roles and boundaries, and for the preflight. Each caller gets its
    own copy (cfn-lint and tests change the dicts they are given)."""
    return copy.deepcopy(_environment(config))


@lru_cache(maxsize=32)
def _environment(config: Config) -> dict[str, dict]:
    try:
        children = root.build_children(config)
        return _files(children, root.build(config, children))
    except ValueError as error:
        raise quota_error(config, error) from None


def quota_error(config: Config | PipelineConfig, error: ValueError) -> Exception:
    """troposphere refuses a template past CloudFormation's quotas ("Maximum number of resources 500 reached"): a
    configuration error naming what makes templates grow, instead of a traceback; any other ValueError is a bug."""
    if not str(error).startswith("Maximum "):
        return error
    return ConfigError(
        [
            f"{config.target}: a template would pass a CloudFormation quota ({error}); it grows with project.yaml's services "
            f"({len(config.project.services)} here): expected fewer services in one project, or a target's monitoring and "
            "subscriptions kept smaller"
        ]
    )


def render_pipeline(config: PipelineConfig) -> dict[str, dict]:
    """The pipeline's templates, after the environments' it derives its deploy roles from."""
    environments = {environment.target: render_environment(environment) for environment in config.environments}
    children = pipeline.build_children(config)
    try:
        return _files(children, pipeline.build(config, environments, children))
    except UnscopedAction as error:  # a configuration whose deploy role cannot be derived: said as such, no traceback
        raise ConfigError([str(error)]) from None
    except ValueError as error:
        raise quota_error(config, error) from None


def _files(children: dict[str, Template], root_template: Template) -> dict[str, dict]:
    rendered = {names.template_file(stem): template.to_dict() for stem, template in children.items()}
    rendered[names.ROOT_TEMPLATE] = root_template.to_dict()
    return dict(sorted(rendered.items()))


def to_json(template: dict) -> str:
    """The canonical text of a template: sorted keys, so equal input gives equal bytes."""
    return json.dumps(template, indent=2, sort_keys=True) + "\n"
