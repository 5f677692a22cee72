"""The root stack of an environment target: one nested stack per part, wired by name.

Each child parameter is satisfied by the sibling stack whose output has the
same name (``templates.names``), or by the root parameter of that name, so the
wiring follows from the children themselves and cannot drift from them.
"""

from __future__ import annotations

from collections.abc import Callable

from troposphere import GetAtt, Output, Ref, Template, cloudformation

from templates import cluster, keys, load_balancer, names, network
from templates.common import new_template, tags
from templates.config import Config

# Nested stacks in creation order: (logical id, template file stem, builder).
CHILDREN: tuple[tuple[str, str, Callable[[Config], Template]], ...] = (
    ("KeysStack", "keys", keys.build),
    ("NetworkStack", "network", network.build),
    ("LoadBalancerStack", "load-balancer", load_balancer.build),
    ("ClusterStack", "cluster", cluster.build),
)

ROOT_OUTPUTS = {names.PUBLIC_URL: "LoadBalancerStack"}

# cfn-lint's W3002 warns that a local TemplateURL needs packaging.  That is the
# design: deploy.py uploads each child and rewrites the URL, so it is silenced
# on the nested stacks alone, with the reason kept beside it in the template.
PACKAGED_BY_DEPLOY = {
    "cfn-lint": {"config": {"ignore_checks": ["W3002"]}},
    "SuppressionReasons": {"W3002": "local TemplateURL by design: deploy.py uploads the child and rewrites the URL"},
}


def wire(child: Template, producers: dict[str, cloudformation.Stack], root: Template) -> dict:
    """Parameters for ``child``: each from the sibling that outputs it, or a root parameter."""
    values = {}
    for name in sorted(child.parameters):
        if name in producers:
            values[name] = GetAtt(producers[name], f"Outputs.{name}")
        elif name in root.parameters:
            values[name] = Ref(root.parameters[name])
        else:
            raise ValueError(f"no stack outputs {name!r} and the root has no such parameter")
    return values


def build_children(config: Config) -> dict[str, Template]:
    """Every nested template of the target, by file stem."""
    return {stem: builder(config) for _, stem, builder in CHILDREN}


def build(config: Config, children: dict[str, Template] | None = None) -> Template:
    children = children or build_children(config)
    template = new_template(f"{config.stack_prefix}: root stack of the {config.target} environment")
    producers: dict[str, cloudformation.Stack] = {}
    for title, stem, _ in CHILDREN:
        child = children[stem]
        parameters = wire(child, producers, template)
        stack = template.add_resource(
            cloudformation.Stack(
                title,
                TemplateURL=names.template_file(stem),
                Tags=tags(config),
                Metadata=PACKAGED_BY_DEPLOY,
                **({"Parameters": parameters} if parameters else {}),
            )
        )
        producers.update({output: stack for output in child.outputs})
    for name, title in ROOT_OUTPUTS.items():
        template.add_output(Output(name, Value=GetAtt(title, f"Outputs.{name}")))
    return template
