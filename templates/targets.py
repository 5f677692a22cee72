"""Render a deploy target: every template of it, as plain dicts keyed by file name."""

from __future__ import annotations

import json

from templates import names, root
from templates.config import Config


def render(config: Config) -> dict[str, dict]:
    """File name -> template dict; the root is ``names.ROOT_TEMPLATE``, nested ones beside it."""
    children = root.build_children(config)
    rendered = {names.template_file(stem): template.to_dict() for stem, template in children.items()}
    rendered[names.ROOT_TEMPLATE] = root.build(config, children).to_dict()
    return dict(sorted(rendered.items()))


def to_json(template: dict) -> str:
    """The canonical text of a template: sorted keys, so equal input gives equal bytes."""
    return json.dumps(template, indent=2, sort_keys=True) + "\n"
