"""The root stack of an environment target: one nested stack per part, wired by name.

Each child parameter is satisfied by the sibling stack whose output has the
same name (``templates.names``), or by the root parameter of that name, so the
wiring follows from the children themselves and cannot drift from them.  A
service's stack is also given its own values (name, route, port, ...) and is
known to its siblings by its outputs prefixed with the service's name: services
of one shape share one template file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from troposphere import GetAtt, Output, Parameter, Ref, Sub, Template, cloudformation

from templates import names
from templates.config.model import Config
from templates.stacks import alerts, cluster, health_check, keys, load_balancer, monitoring, network, service
from templates.stacks.common import PACKAGED_BY_DEPLOY, new_template, switch, tags

# The environment's shared stacks, in creation order: (logical id, template file stem, builder).
SHARED: tuple[tuple[str, str, Callable[[Config], Template]], ...] = (
    ("KeysStack", "keys", keys.build),
    ("AlertsStack", "alerts", alerts.build),
    ("NetworkStack", "network", network.build),
    ("LoadBalancerStack", "load-balancer", load_balancer.build),
    ("ClusterStack", "cluster", cluster.build),
    ("HealthCheckStack", "health-check", health_check.build),
)


class Child(NamedTuple):
    """A nested stack of the root: its logical id, its template's file stem, and how it is wired."""

    title: str
    stem: str
    values: dict[str, str] = {}  # parameters given fixed values
    aliases: dict[str, str] = {}  # parameter -> the name the root or a sibling provides it under
    output_prefix: str = ""  # the siblings know its outputs as names.service_output(prefix, output)


def service_stems(config: Config) -> dict[str, str]:
    """Service name -> its template's file stem: one template per shape (``service.shape``),
    ``service`` for the first service's, ``service-<name>`` after the first service of any other."""
    shapes = {s.name: service.shape(s) for s in config.project.services}
    first = shapes[config.project.services[0].name]
    stems: dict[tuple, str] = {}
    for name, shape in shapes.items():
        stems.setdefault(shape, service.BASE_STEM if shape == first else f"{service.BASE_STEM}-{name}")
    return {name: stems[shape] for name, shape in shapes.items()}


def children(config: Config) -> list[Child]:
    """Every nested stack: the shared ones, then one per service in project.yaml."""
    stacks = [Child(title, stem) for title, stem, _ in SHARED]
    stems = service_stems(config)
    stacks += [
        Child(
            service.stack_title(s),
            stems[s.name],
            values=service.service_values(s),
            aliases={
                service.RUNNING_PARAMETER: names.service_running_parameter(s.logical_name),
                service.KEEP_DESIRED_COUNT_PARAMETER: names.service_keep_count_parameter(s.logical_name),
            },
            output_prefix=s.logical_name,
        )
        for s in config.project.services
    ]
    # Last: it names every service's alarms, target groups and log groups.
    stacks.append(Child("MonitoringStack", "monitoring"))
    return stacks


# The children's outputs the root passes on as its own, from whichever child produces them.
ROOT_OUTPUTS = (names.PUBLIC_URL,)

def wire(child: Template, spec: Child, producers: dict[str, tuple[cloudformation.Stack, str]], root: Template) -> dict:
    """Parameters for ``child``: a fixed value, else from the sibling that outputs it, else a root parameter."""
    values = {}
    for name in sorted(child.parameters):
        source = spec.aliases.get(name, name)
        if name in spec.values:
            values[name] = spec.values[name]
        elif source in producers:
            stack, output = producers[source]
            values[name] = GetAtt(stack, f"Outputs.{output}")
        elif source in root.parameters:
            values[name] = Ref(root.parameters[source])
        else:
            raise ValueError(f"no stack outputs {source!r} and the root has no such parameter")
    return values


def build_children(config: Config) -> dict[str, Template]:
    """Every nested template of the target, by file stem (services of one shape share one)."""
    built = {stem: build(config) for _, stem, build in SHARED}
    stems = service_stems(config)
    for s in config.project.services:
        if stems[s.name] not in built:
            built[stems[s.name]] = service.build(config, s)
    built["monitoring"] = monitoring.build(config)
    return built


def add_parameters(template: Template, config: Config) -> None:
    """What deploy.py supplies: where the Lambda code is, which image tag runs, which services have one."""
    template.add_parameter(Parameter(names.ASSETS_BUCKET, Type="String", Description="bucket holding the packaged Lambda code"))
    template.add_parameter(Parameter(names.HEALTH_CHECK_CODE_KEY, Type="String", Description="S3 key of the health-check zip"))
    version = "S3 version of the health-check zip: the function runs the object deploy.py uploaded, whatever is put there later"
    template.add_parameter(Parameter(names.code_version_parameter(names.HEALTH_CHECK_CODE_KEY), Type="String", Description=version))
    template.add_parameter(Parameter(names.IMAGE_TAG, Type="String", Description="image tag every service runs (the commit)"))
    deploy_role = "the role CloudFormation deploys with (deploy.py --role-arn), which the key policy admits"
    template.add_parameter(Parameter(names.DEPLOY_ROLE_ARN, Type="String", Default="", Description=deploy_role))
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
            switch(names.service_running_parameter(s.logical_name), f"false while {s.name} has no image for the tag: it then runs no tasks")
        )
        keep = f"true when {s.name} runs already: a release leaves its desired count to autoscaling"
        template.add_parameter(switch(names.service_keep_count_parameter(s.logical_name), keep, "false"))


def build(config: Config, built: dict[str, Template] | None = None) -> Template:
    built = built or build_children(config)
    template = new_template(f"{config.stack_prefix}: root stack of the {config.target} environment")
    add_parameters(template, config)
    producers: dict[str, tuple[cloudformation.Stack, str]] = {}
    for spec in children(config):
        child = built[spec.stem]
        parameters = wire(child, spec, producers, template)
        stack = template.add_resource(
            cloudformation.Stack(
                spec.title,
                TemplateURL=names.template_file(spec.stem),
                Tags=tags(config),
                Metadata=PACKAGED_BY_DEPLOY,
                **({"Parameters": parameters} if parameters else {}),
            )
        )
        outputs = {names.service_output(spec.output_prefix, output): (stack, output) for output in child.outputs}
        duplicated = sorted(set(outputs) & set(producers))
        if duplicated:
            raise ValueError(f"{spec.title} outputs {duplicated}, which another stack outputs too: the wiring would be ambiguous")
        producers.update(outputs)
    produced = {name: GetAtt(stack, f"Outputs.{output}") for name, (stack, output) in producers.items()}
    for name in ROOT_OUTPUTS:
        template.add_output(Output(name, Value=produced[name]))
    for s in config.project.services:
        template.add_output(
            Output(
                f"{s.logical_name}Url",
                Description=f"public URL of {s.name}",
                Value=Sub(f"${{Url}}{s.route_path}", Url=produced[names.PUBLIC_URL]),
            )
        )
    return template
