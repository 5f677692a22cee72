"""Cross-field rules: what no single field's check can see (overlapping subnets, shared routes and priorities,
thresholds that contradict each other, names AWS would refuse).  Each returns one line per problem, naming the
file and the key path."""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import zoneinfo

from templates.config.fields import did_you_mean, is_cidr, shown
from templates.config.model import (
    FARGATE_MEMORY,
    HEALTH_COMMAND_FORMS,
    HOOK_APIS,
    INTERFACE_ENDPOINTS,
    MAX_RULE_PRIORITY,
    PROJECT_FILE,
    REQUIRED_WITHOUT_NAT,
    RUNTIME_VARIABLE_PREFIXES,
    RUNTIME_VARIABLES,
    SETTING_VARIABLES,
    TASK_VARIABLES,
    Alarms,
    Cluster,
    Environment,
    Network,
    Project,
    Subscription,
    carve_subnets,
)

# Each subscription is a resource of its topic's template (a Lambda one two), and a template holds at most 500
# (CloudFormation quotas: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html);
# this many keeps the alerts stack inside the preflight's 60% headroom.
MAX_SUBSCRIPTIONS = 100


def check_subscriptions(subscriptions: tuple[Subscription, ...], filename: str, path: str) -> list[str]:
    """One line per subscription whose endpoint does not fit its protocol, or that is listed twice."""
    if len(subscriptions) > MAX_SUBSCRIPTIONS:
        return [
            f"{filename}: {path}: {len(subscriptions)} subscriptions; expected at most {MAX_SUBSCRIPTIONS} (each is a resource of "
            "the topic's stack, which CloudFormation caps at 500): subscribe a list or a queue that fans out instead"
        ]
    problems = []
    for index, subscription in enumerate(subscriptions):
        accepted = subscription.endpoint_problem()
        if accepted:
            problems.append(
                f"{filename}: {path}[{index}].endpoint: {subscription.endpoint!r} is not accepted for protocol "
                f"{subscription.protocol!r}; expected {accepted}"
            )
        if subscription in subscriptions[:index]:
            problems.append(f"{filename}: {path}[{index}]: {subscription.endpoint!r} is listed twice; expected each subscription once")
    return problems


def _check_service_command_and_variable(service, path: str, filename: str) -> list[str]:
    problems = []
    command = list(service.container_health_command)
    if len(command) < 2 or command[0] not in HEALTH_COMMAND_FORMS:
        problems.append(
            f"{filename}: {path}.container_health_command: {shown(command)} is not accepted; expected "
            f"{' or '.join(HEALTH_COMMAND_FORMS)} followed by the command, as ECS runs health checks"
        )
    name = service.secret_variable
    if name in (*TASK_VARIABLES, *SETTING_VARIABLES, *RUNTIME_VARIABLES) or name.startswith(RUNTIME_VARIABLE_PREFIXES):
        problems.append(
            f"{filename}: {path}.secret_variable: {name!r} is not accepted: the task or its runtime sets that variable; "
            f"expected another name (not {', '.join((*TASK_VARIABLES, *SETTING_VARIABLES, *RUNTIME_VARIABLES))}, "
            f"nor one starting with {' or '.join(RUNTIME_VARIABLE_PREFIXES)})"
        )
    return problems


def check_project(project: Project, filename: str) -> list[str]:
    problems = []
    seen_names: dict[str, int] = {}
    seen_routes: dict[str, int] = {}
    for index, service in enumerate(project.services):
        path = f"services[{index}]"
        problems += _check_service_command_and_variable(service, path, filename)
        if service.memory not in FARGATE_MEMORY[service.cpu]:
            accepted = FARGATE_MEMORY[service.cpu]
            problems.append(
                f"{filename}: {path}.memory: {service.memory!r} is not accepted with cpu {service.cpu}; "
                f"expected one of {accepted[0]} to {accepted[-1]} in the steps Fargate allows ({', '.join(map(str, accepted[:4]))}, ...)"
            )
        for seen, key, value in ((seen_names, "name", service.name), (seen_routes, "route_path", service.route_path)):
            if value in seen:
                problems.append(f"{filename}: {path}.{key}: {value!r} is already used by services[{seen[value]}]; expected a unique {key}")
            seen.setdefault(value, index)
        for other_route, other_index in seen_routes.items():
            if other_index != index and service.route_path.startswith(other_route + "/"):
                problems.append(
                    f"{filename}: {path}.route_path: {service.route_path!r} lies under services[{other_index}]'s "
                    f"{other_route!r}, whose rule would shadow it; expected a prefix no other service's route contains"
                )
    if not project.services:
        problems.append(f"{filename}: services: [] is not accepted; expected at least one service")
    return problems + _check_priorities(project, filename)


def _check_priorities(project: Project, filename: str) -> list[str]:
    """Every service's listener rules need a priority no other service's rules hold."""
    problems = []
    holders: dict[int, int] = {}
    for index, service in enumerate(project.services):
        priority = service.rule_priority
        other = project.services[holders[priority]] if priority in holders else None
        if other and not service.priority and not other.priority and other.route_path == service.route_path:
            continue  # the same route twice: reported as such already
        if priority in holders:
            how = "set" if service.priority else f"derived from route_path {service.route_path!r}"
            problems.append(
                f"{filename}: services[{index}].priority: {priority} ({how}) is already used by services[{holders[priority]}]; "
                f"expected a priority from 1 to {MAX_RULE_PRIORITY} that no other service uses"
            )
        holders.setdefault(priority, index)
    return problems


# The smallest subnet a VPC takes is a /28 (VPC User Guide, "VPC CIDR blocks":
# https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html): carving splits the VPC in 8 blocks.
SMALLEST_SUBNET_PREFIX = 28
CARVED_BLOCKS_BITS = 3


def _check_vpc_range(network: Network, filename: str) -> list[str]:
    vpc = ipaddress.IPv4Network(network.vpc_cidr)
    special = [name for name in ("loopback", "link_local", "multicast", "reserved", "unspecified") if getattr(vpc, f"is_{name}")]
    if special:
        return [
            f"{filename}: network.vpc_cidr: {network.vpc_cidr!r} is a {special[0].replace('_', '-')} range, which no VPC "
            "can route; expected a private range such as 10.0.0.0/16 (RFC 1918)"
        ]
    carved = not (network.public_subnets and network.private_subnets)
    if carved and vpc.prefixlen + CARVED_BLOCKS_BITS > SMALLEST_SUBNET_PREFIX:
        return [
            f"{filename}: network.vpc_cidr: {network.vpc_cidr!r} is too small to carve its subnets from (8 blocks of at least "
            f"/{SMALLEST_SUBNET_PREFIX}); expected a /{SMALLEST_SUBNET_PREFIX - CARVED_BLOCKS_BITS} or larger, or the subnets given"
        ]
    return []


def _check_network(network: Network, filename: str) -> list[str]:
    problems = _check_vpc_range(network, filename)
    for key in ("public_subnets", "private_subnets"):
        given = getattr(network, key)
        if given and len(given) != network.az_count:
            problems.append(
                f"{filename}: network.{key}: {len(given)} subnets given; expected one per AZ, {network.az_count} (network.az_count)"
            )
        for index, cidr in enumerate(given):
            accepted = is_cidr(cidr)
            if accepted:
                problems.append(f"{filename}: network.{key}[{index}]: {cidr!r} is not accepted; expected {accepted}")
    if problems:
        return problems
    vpc = ipaddress.IPv4Network(network.vpc_cidr)
    public, private = carve_subnets(network)
    named = [(f"network.public_subnets[{i}]", c) for i, c in enumerate(public)]
    named += [(f"network.private_subnets[{i}]", c) for i, c in enumerate(private)]
    for index, (key, cidr) in enumerate(named):
        subnet = ipaddress.IPv4Network(cidr)
        if not subnet.subnet_of(vpc):
            problems.append(f"{filename}: {key}: {cidr!r} is outside the VPC; expected a range within {network.vpc_cidr}")
        for other_key, other_cidr in named[:index]:
            if subnet.overlaps(ipaddress.IPv4Network(other_cidr)):
                problems.append(f"{filename}: {key}: {cidr!r} overlaps {other_key} {other_cidr!r}; expected disjoint subnets")
    if network.endpoint_az_count > network.az_count:
        problems.append(
            f"{filename}: network.endpoint_az_count: {network.endpoint_az_count!r} is more than network.az_count "
            f"({network.az_count}); expected 0 (every AZ) to {network.az_count}"
        )
    for index, name in enumerate(network.interface_endpoints):
        if name not in INTERFACE_ENDPOINTS:
            problems.append(
                f"{filename}: network.interface_endpoints[{index}]: {name!r} is not accepted; expected one of "
                + ", ".join(INTERFACE_ENDPOINTS)
            )
    missing = [name for name in REQUIRED_WITHOUT_NAT if name not in network.interface_endpoints]
    if network.nat_mode == "none" and missing:
        problems.append(
            f"{filename}: network.interface_endpoints: lacks {', '.join(missing)}, without which tasks cannot start (or the "
            f"blue/green hook cannot reach {' and '.join(HOOK_APIS)}) when nat_mode is 'none'; "
            f"expected at least {', '.join(REQUIRED_WITHOUT_NAT)}, or a nat_mode of 'single' or 'per-az'"
        )
    if len(set(network.interface_endpoints)) != len(network.interface_endpoints):
        problems.append(f"{filename}: network.interface_endpoints: lists an endpoint twice; expected each once")
    return problems


def _check_load_balancer(environment: Environment, filename: str) -> list[str]:
    settings = environment.load_balancer
    key = f"{filename}: load_balancer"
    problems = []
    if settings.certificate_arn and not settings.domain_name:
        problems.append(
            f"{key}.domain_name: missing; with a certificate_arn it is required, because the certificate matches the "
            "domain, not the load balancer's own DNS name; expected the name the certificate covers"
        )
    if settings.hosted_zone_id and not settings.domain_name:
        problems.append(f"{key}.hosted_zone_id: set without a domain_name; expected a domain_name for the alias record, or no zone")
    if environment.protected and not settings.certificate_arn and not settings.plain_http:
        problems.append(
            f"{key}.certificate_arn: missing on a protected target; expected an ACM certificate ARN, "
            "or plain_http: true to serve plain HTTP on purpose"
        )
    if settings.certificate_arn and settings.plain_http:
        problems.append(f"{key}.plain_http: true with a certificate_arn; expected one of the two")
    return problems


def _check_cluster(cluster: Cluster, filename: str) -> list[str]:
    if cluster.fargate_weight or cluster.fargate_base or cluster.fargate_spot_weight:
        return []
    return [
        f"{filename}: cluster: no capacity: every FARGATE and FARGATE_SPOT weight and base is 0; "
        "expected a weight above 0 for at least one of them"
    ]


def _check_services_settings(environment: Environment, filename: str) -> list[str]:
    problems = []
    scaling = environment.services.scaling
    if scaling.min_tasks > scaling.max_tasks:
        problems.append(
            f"{filename}: services.scaling.min_tasks: {scaling.min_tasks} is above max_tasks ({scaling.max_tasks}); "
            "expected min_tasks <= max_tasks"
        )
    if bool(scaling.off_hours.stop) != bool(scaling.off_hours.start):
        problems.append(f"{filename}: services.scaling.off_hours: only one of stop and start is set; expected both or neither")
    zones = available_time_zones()
    if zones and scaling.off_hours.timezone not in zones:
        problems.append(
            f"{filename}: services.scaling.off_hours.timezone: {shown(scaling.off_hours.timezone)} is not accepted; "
            f"{did_you_mean(scaling.off_hours.timezone, zones)}expected an IANA time zone such as Europe/Berlin"
        )
    check = environment.services.health_check
    if check.timeout_seconds >= check.interval_seconds:
        problems.append(
            f"{filename}: services.health_check.timeout_seconds: {check.timeout_seconds} is not below interval_seconds "
            f"({check.interval_seconds}); expected a timeout shorter than the interval"
        )
    for name in (f.name for f in dataclasses.fields(Alarms)):
        spec = getattr(environment.alarms, name)
        if spec.datapoints_to_alarm > spec.evaluation_periods:
            problems.append(
                f"{filename}: alarms.{name}.datapoints_to_alarm: {spec.datapoints_to_alarm} is above evaluation_periods "
                f"({spec.evaluation_periods}); expected at most evaluation_periods"
            )
    problems += _check_canary_period(environment, filename)
    return problems


@functools.cache
def available_time_zones() -> frozenset[str]:
    """The IANA time zones this machine knows (empty where it has no zone data: then only the field's pattern applies)."""
    return frozenset(zoneinfo.available_timezones())


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of a rate(...) expression; None for cron(...)."""
    found = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if not found:
        return None
    unit = {"minute": 60, "hour": 3600, "day": 86400}[found.group(2).rstrip("s")]
    return int(found.group(1)) * unit


def _check_canary_period(environment: Environment, filename: str) -> list[str]:
    every = rate_seconds(environment.canary.schedule)
    period = environment.alarms.canary.period_seconds
    if every and period < every:
        return [
            f"{filename}: alarms.canary.period_seconds: {period} is shorter than the canary's schedule "
            f"({environment.canary.schedule}), so most periods would have no data; expected at least {every}"
        ]
    return []


# --- names AWS must accept ----------------------------------------------------

# A stack name: a letter, then letters, digits and hyphens, at most 128 characters
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html, StackName).
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
# The longest name the templates build from "<project>-<target>", and the limit AWS puts on it: the canary
# function "<project>-<target>-health-canary" (templates/health_check.py function_name), and a Lambda function
# name has at most 64 characters (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html).
LONGEST_DERIVED_NAME = ("Lambda function name", "-health-canary", 64)


# Target names whose stacks deploy.py makes itself: an environment of that name would replace them.
RESERVED_TARGETS = {"bootstrap": "the stack of the assets bucket every deploy uploads to (deploy.py --bootstrap)"}


def check_target_names(project_name: str, target: str, filename: str) -> list[str]:
    """Problems with the names a target's stacks and resources get from the project and target names.

    Caught here, as a configuration error naming the key to change, instead of as a refused deploy.
    """
    stack = f"{project_name}-{target}"
    if target in RESERVED_TARGETS:
        return [
            f"{filename}: the target name {target!r} is reserved: its stack would be {stack!r}, {RESERVED_TARGETS[target]}; "
            "expected another file name"
        ]
    if not STACK_NAME.fullmatch(stack):
        return [
            f"{filename}: the target name {target!r} makes the stack name {stack!r}, which CloudFormation refuses; "
            "expected a file name of letters, digits and hyphens, the stack name at most 128 characters"
        ]
    what, suffix, limit = LONGEST_DERIVED_NAME
    longest = f"{stack}{suffix}"
    if len(longest) > limit:
        room = limit - len(suffix) - 1
        return [
            f"{filename}: name {project_name!r} ({len(project_name)} characters) with target {target!r} ({len(target)}) makes the "
            f"{what} {longest!r} {len(longest)} characters, over AWS's limit of {limit}; expected the project's name and "
            f"the target's file name together at most {room} characters: shorten 'name' in {PROJECT_FILE} or rename the target file"
        ]
    return []


def check_environment(environment: Environment, filename: str) -> list[str]:
    """Every cross-field problem of an environment file, one line each."""
    return (
        _check_network(environment.network, filename)
        + _check_load_balancer(environment, filename)
        + _check_cluster(environment.cluster, filename)
        + _check_services_settings(environment, filename)
        + check_subscriptions(environment.notifications.subscriptions, filename, "notifications.subscriptions")
    )
