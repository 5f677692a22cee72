"""The root stack of an environment target: one nested stack per part, wired by name.

Each child parameter is satisfied by the sibling stack whose output has the
same name (``templates.names``), or by the root parameter of that name, so the
wiring follows from the children themselves and cannot drift from them.
"""

from __future__ import annotations

from collections.abc import Callable

from troposphere import GetAtt, Output, Parameter, Ref, Sub, Template, cloudformation

from templates import alerts, cluster, health_check, keys, load_balancer, monitoring, names, network, service
from templates.common import new_template, tags
from templates.config import Config

# The environment's shared stacks, in creation order: (logical id, template file stem, builder).
SHARED: tuple[tuple[str, str, Callable[[Config], Template]], ...] = (
    ("KeysStack", "keys", keys.build),
    ("AlertsStack", "alerts", alerts.build),
    ("NetworkStack", "network", network.build),
    ("LoadBalancerStack", "load-balancer", load_balancer.build),
    ("ClusterStack", "cluster", cluster.build),
    ("HealthCheckStack", "health-check", health_check.build),
)


def children(config: Config) -> list[tuple[str, str, Callable[[], Template]]]:
    """Every nested stack: the shared ones, then one per service in project.yaml."""
    stacks = [(title, stem, lambda build=build: build(config)) for title, stem, build in SHARED]
    stacks += [(service.stack_title(s), service.stem(s), lambda s=s: service.build(config, s)) for s in config.project.services]
    # Last: it names every service's alarms, target groups and log groups.
    stacks.append(("MonitoringStack", "monitoring", lambda: monitoring.build(config)))
    return stacks


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
    return {stem: builder() for _, stem, builder in children(config)}


def add_parameters(template: Template, config: Config) -> None:
    """What deploy.py supplies: where the Lambda code is, which image tag runs, which services have one."""
    template.add_parameter(Parameter(names.ASSETS_BUCKET, Type="String", Description="bucket holding the packaged Lambda code"))
    template.add_parameter(Parameter(names.HEALTH_CHECK_CODE_KEY, Type="String", Description="S3 key of the health-check zip"))
    template.add_parameter(Parameter(names.IMAGE_TAG, Type="String", Description="image tag every service runs (the commit)"))
    template.add_parameter(
        Parameter(
            names.PERMISSIONS_BOUNDARY_NAME,
            Type="String",
            Default=f"{config.stack_prefix}-{names.BOUNDARY_SUFFIX}",
            Description="the permissions boundary of every role (the pipeline target creates it)",
        )
    )
    for s in config.project.services:
        template.add_parameter(
            Parameter(
                names.service_running_parameter(s.logical_name),
                Type="String",
                AllowedValues=["true", "false"],
                Default="true",
                Description=f"false while {s.name} has no image for the tag: it then runs no tasks",
            )
        )


def build(config: Config, built: dict[str, Template] | None = None) -> Template:
    built = built or build_children(config)
    template = new_template(f"{config.stack_prefix}: root stack of the {config.target} environment")
    add_parameters(template, config)
    producers: dict[str, cloudformation.Stack] = {}
    for title, stem, _ in children(config):
        child = built[stem]
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
        duplicated = sorted(set(child.outputs) & set(producers))
        if duplicated:
            raise ValueError(f"{title} outputs {duplicated}, which another stack outputs too: the wiring would be ambiguous")
        producers.update({output: stack for output in child.outputs})
    for name, title in ROOT_OUTPUTS.items():
        template.add_output(Output(name, Value=GetAtt(title, f"Outputs.{name}")))
    for s in config.project.services:
        template.add_output(
            Output(
                f"{s.logical_name}Url",
                Description=f"public URL of {s.name}",
                Value=Sub(f"${{Url}}{s.route_path}", Url=GetAtt("LoadBalancerStack", f"Outputs.{names.PUBLIC_URL}")),
            )
        )
    return template
