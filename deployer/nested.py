"""Upload a rendered template tree, children first, pointing each parent at its children.

A nested stack's ``TemplateURL`` is rendered as a file name relative to its
parent (``"network.json"``).  A child is uploaded before its parent because
the parent's bytes - and so its content-hashed key - include the child's URL:
a change deep in the tree changes every key on the way up to the root, and
nothing else.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from deployer.errors import UsageError
from deployer.packaging import template_bytes

STACK_TYPE = "AWS::CloudFormation::Stack"

# (file name, packaged bytes) -> URL CloudFormation can fetch it from
Publish = Callable[[str, bytes], str]


@dataclass
class PackagedTemplates:
    root: str
    urls: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    templates: dict[str, dict] = field(default_factory=dict)

    @property
    def root_url(self) -> str:
        return self.urls[self.root]


def nested_stacks(template: dict) -> list[tuple[str, dict]]:
    """(logical id, properties) of every nested stack resource, in template order."""
    return [
        (logical_id, resource.setdefault("Properties", {}))
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == STACK_TYPE
    ]


def child_file(parent: str, url: object, templates: dict[str, dict]) -> str | None:
    """The rendered file a relative TemplateURL names, or None for absolute URLs and intrinsics."""
    if not isinstance(url, str) or "://" in url:
        return None
    beside_parent = posixpath.normpath(posixpath.join(posixpath.dirname(parent), url))
    return beside_parent if beside_parent in templates else url


def package(templates: dict[str, dict], root: str, publish: Publish) -> PackagedTemplates:
    if root not in templates:
        raise UsageError(f"the rendered templates have no {root}; got: {', '.join(sorted(templates)) or 'none'}")
    result = PackagedTemplates(root=root)

    def visit(name: str, chain: tuple[str, ...]) -> str:
        if name in result.urls:
            return result.urls[name]
        template = copy.deepcopy(templates[name])
        for logical_id, properties in nested_stacks(template):
            child = child_file(name, properties.get("TemplateURL"), templates)
            if child is None:
                continue
            if child not in templates:
                raise UsageError(
                    f"{name}: nested stack {logical_id} has TemplateURL {properties.get('TemplateURL')!r}, "
                    f"which is not one of the rendered templates ({', '.join(sorted(templates))})"
                )
            if child in chain:
                raise UsageError(f"{name}: nested stack {logical_id} includes {child}, which includes {name}: a cycle")
            properties["TemplateURL"] = visit(child, chain + (child,))
        body = template_bytes(template)
        result.templates[name] = template
        result.bodies[name] = body
        result.urls[name] = publish(name, body)
        return result.urls[name]

    visit(root, (root,))
    return result
