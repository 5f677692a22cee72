"""Typed, validated configuration loaded from ``parameters/``.

``parameters/project.yaml`` describes the project and its services; every other
``parameters/<target>.yaml`` describes one environment.  Both are loaded into
frozen dataclasses.  Loading collects every problem before failing, and each
problem is one line naming the file, the key path, the bad value and what is
accepted, so a user fixes them all in one pass.

The loader is driven by the dataclass fields themselves: a field's type says
what is accepted, its default documents the default, and ``metadata["check"]``
adds a value check.  Cross-field rules (CIDR overlap, duplicate routes, ...)
run after the fields are typed.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import ipaddress
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_FILE = "project.yaml"
PIPELINE_FILE = "pipeline.yaml"  # the pipeline target's settings (templates/pipeline_config.py)

# Fargate's valid task sizes: cpu units -> memory MiB accepted with them.
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}

# The values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

NAT_MODES = ("none", "single", "per-az")

# Interface endpoints the private subnets may need, by short name -> service.
INTERFACE_ENDPOINTS = {
    "ecr-api": "ecr.api",
    "ecr-dkr": "ecr.dkr",
    "logs": "logs",
    "secretsmanager": "secretsmanager",
    "ssm": "ssm",
    "sts": "sts",
    "elasticloadbalancing": "elasticloadbalancing",
    "ecs": "ecs",
}

# The AWS APIs the blue/green hook calls from the private subnets: ELB to find the
# green tasks, ECS to learn whether the service wants any task at all.
HOOK_APIS = ("elasticloadbalancing", "ecs")

# Without NAT, the private subnets reach AWS through these alone: ECR (api, dkr) to
# pull images, logs for awslogs, secretsmanager and ssm for the task's secrets and
# settings, and the hook's APIs.
REQUIRED_WITHOUT_NAT = ("ecr-api", "ecr-dkr", "logs", "secretsmanager", "ssm", *HOOK_APIS)

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"

# compliance: control-tower -- the AWS Control Tower proactive controls the environment must pass
# (docs/compliance.md).  CT.CLOUDWATCH.PR.2 asks for log groups kept at least a year.
COMPLIANCE_MODES = ("none", "control-tower")
COMPLIANCE_LOG_RETENTION_DAYS = 365


class ConfigError(Exception):
    """Raised with every problem found; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# --- value checks ----------------------------------------------------------------

# A check returns None for a good value, or the text of what is accepted.  Each
# also carries ``accepted`` (that text, for the reference) and ``schema`` (the
# JSON Schema keywords that say the same to an editor), so the docs and the
# schemas in schemas/ are generated from the checks themselves.
Check = Callable[[Any], str | None]


def _described(check: Check, accepted: str, **schema: Any) -> Check:
    check.accepted = accepted  # type: ignore[attr-defined]
    check.schema = schema  # type: ignore[attr-defined]
    return check


def did_you_mean(value: Any, choices: Iterable[Any]) -> str:
    """ "did you mean 'x'? " when ``value`` is a near miss of one of ``choices``, else ""."""
    if not isinstance(value, str) or not value:
        return ""
    names = [c for c in choices if isinstance(c, str)]
    by_case = [c for c in names if c.lower() == value.lower()]
    prefixed = [c for c in names if c.lower().startswith(value.lower())]
    close = by_case or (prefixed if len(prefixed) == 1 else []) or difflib.get_close_matches(value, names, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def one_of(*allowed: Any) -> Check:
    accepted = "one of " + ", ".join(repr(a) for a in allowed)

    def check(value: Any) -> str | None:
        if value not in allowed:
            return accepted
        return None

    return _described(check, accepted, enum=list(allowed))


def in_range(low: int, high: int) -> Check:
    accepted = f"an integer from {low} to {high}"

    def check(value: int) -> str | None:
        if not low <= value <= high:
            return accepted
        return None

    return _described(check, accepted, minimum=low, maximum=high)


def matches(pattern: str, description: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: str) -> str | None:
        return None if compiled.fullmatch(value) else description

    # fullmatch() anchors the pattern; JSON Schema's "pattern" searches, so it is anchored here.
    return _described(check, description, pattern=f"^(?:{pattern})$")


def _is_cidr(value: str) -> str | None:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return "an IPv4 network in CIDR form, such as 10.0.0.0/16, with no host bits set"
    if not 16 <= network.prefixlen <= 28:
        return "a CIDR with a prefix length from /16 to /28 (the range a VPC or subnet accepts)"
    return None


is_cidr = _described(
    _is_cidr,
    "an IPv4 CIDR with a prefix from /16 to /28 and no host bits set",
    pattern=r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/(1[6-9]|2[0-8])$",
)

# A clean prefix: "/api", "/v1/orders"; the listener rule adds "/*" itself.
is_route_path = matches(r"(/[a-z0-9][a-z0-9._-]*)+", "a clean path prefix such as /api: lowercase segments, no trailing slash or wildcard")


def checked(default: Any = dataclasses.MISSING, check: Check | None = None, doc: str = "", **kwargs):
    """A dataclass field carrying its value check and a line of documentation."""
    metadata = {"check": check, "doc": doc}
    if default is dataclasses.MISSING:
        return field(metadata=metadata, **kwargs)
    return field(default=default, metadata=metadata, **kwargs)


# ALB listener-rule priorities run from 1 to 50,000.  Derived ones start at 1,000,
# above the 1..N that earlier versions numbered by position, so the first update
# after upgrading moves no rule onto a priority another rule still holds.
MAX_RULE_PRIORITY = 50_000
DERIVED_PRIORITY_FROM = 1_000


def derived_priority(route_path: str) -> int:
    digest = int.from_bytes(hashlib.sha256(route_path.encode("utf-8")).digest()[:8], "big")
    return DERIVED_PRIORITY_FROM + digest % (MAX_RULE_PRIORITY - DERIVED_PRIORITY_FROM + 1)


NAME = matches(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", "lowercase letters, digits and hyphens, 2 to 32 characters, starting with a letter")


# --- project.yaml -------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str = checked(check=NAME, doc="service name; also its ECR repository and stack name")
    route_path: str = checked(check=is_route_path, doc="ALB path prefix routed to the service")
    source_path: str = checked("", doc="directory of the service's sources (default services/<name>)")
    dockerfile: str = checked("", doc="Dockerfile path (default <source_path>/Dockerfile)")
    container_port: int = checked(8080, in_range(1024, 65535), "port the container listens on")
    health_check_path: str = checked("/health", matches(r"/[A-Za-z0-9/._-]*", "a path starting with /"), "health endpoint")
    cpu: int = checked(256, one_of(*FARGATE_MEMORY), "Fargate cpu units")
    memory: int = checked(512, doc="Fargate memory in MiB, valid for the cpu")
    build_context: str = checked("", doc="docker build context (default <source_path>)")
    secret_variable: str = checked(
        "APP_SECRET",
        matches(r"[A-Z][A-Z0-9_]*", "an environment variable name such as APP_SECRET"),
        "environment variable the service's generated secret is injected as",
    )
    run_as_user: str = checked(
        "10001:10001",
        matches(r"[1-9][0-9]*(:[1-9][0-9]*)?", "a non-root uid[:gid] such as 10001:10001"),
        "uid:gid the container runs as (never root)",
    )
    container_health_command: tuple[str, ...] = checked(
        ("CMD", "python", "-m", "service_kit.healthcheck"), doc="the container health check's command, in ECS's CMD / CMD-SHELL form"
    )
    priority: int = checked(
        0,
        in_range(0, MAX_RULE_PRIORITY),
        f"listener-rule priority, unique per environment (0: derived from route_path, from {DERIVED_PRIORITY_FROM} up)",
    )

    @property
    def source_dir(self) -> str:
        return self.source_path or f"services/{self.name}"

    @property
    def dockerfile_path(self) -> str:
        return self.dockerfile or f"{self.source_dir}/Dockerfile"

    @property
    def context_dir(self) -> str:
        return self.build_context or self.source_dir

    @property
    def logical_name(self) -> str:
        """CamelCase form used in logical ids and parameter names."""
        return "".join(part.capitalize() for part in self.name.split("-"))

    @property
    def rule_priority(self) -> int:
        """The listener-rule priority: the explicit one, else derived from the route alone.

        It never depends on the order or number of services, so adding, removing or
        reordering services leaves every other rule where it is (a moved priority
        collides with a sibling stack's rule while both update: PriorityInUse).
        """
        return self.priority or derived_priority(self.route_path)


@dataclass(frozen=True)
class Project:
    name: str = checked(check=NAME, doc="project name, the prefix of every stack and resource name")
    services: tuple[Service, ...] = checked(doc="the services the platform builds and runs")


# --- <target>.yaml ------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    vpc_cidr: str = checked("10.0.0.0/16", is_cidr, "the VPC's address range")
    az_count: int = checked(2, one_of(2, 3), "availability zones the subnets span")
    public_subnets: tuple[str, ...] = checked((), doc="public subnet CIDRs, one per AZ (default: carved from vpc_cidr)")
    private_subnets: tuple[str, ...] = checked((), doc="private subnet CIDRs, one per AZ (default: carved from vpc_cidr)")
    nat_mode: str = checked("none", one_of(*NAT_MODES), "NAT gateways: none, one shared, or one per AZ")
    interface_endpoints: tuple[str, ...] = checked(tuple(INTERFACE_ENDPOINTS), doc="interface VPC endpoints to create (billed per AZ-hour)")
    endpoint_az_count: int = checked(0, in_range(0, 3), "AZs the interface endpoints occupy (0: every AZ)")


HOST_NAME = matches(
    r"((?=[a-z0-9-]{1,63}\.)[a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,63}|",
    "a lowercase DNS name such as shop.example.com, or empty",
)


@dataclass(frozen=True)
class LoadBalancer:
    certificate_arn: str = checked(
        "",
        matches(r"(arn:[a-z-]+:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+)?", "an ACM certificate ARN or empty"),
        "ACM certificate for HTTPS (it must cover domain_name); empty serves plain HTTP on port 80",
    )
    domain_name: str = checked(
        "", HOST_NAME, "the name users reach the load balancer by: public URLs, the canary and the integration tests use it"
    )
    hosted_zone_id: str = checked(
        "",
        matches(r"(Z[A-Z0-9]{1,31})?", "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ, or empty"),
        "Route 53 hosted zone that gets an alias record for domain_name (empty: manage DNS yourself)",
    )
    plain_http: bool = checked(
        False, doc="a protected target without a certificate_arn must say true here: it then serves plain HTTP, with a warning"
    )
    test_listener_port: int = checked(
        8080, in_range(1024, 65535), "port of the test listener, which ECS uses for test traffic; no client can reach it"
    )
    deletion_protection: bool = checked(False, doc="turn on the ALB's deletion protection")
    access_log_expiry_days: int = checked(90, in_range(1, 3650), "days access logs are kept")
    idle_timeout_seconds: int = checked(60, in_range(1, 4000), "ALB idle timeout")


@dataclass(frozen=True)
class Cluster:
    container_insights: str = checked("enabled", one_of("enabled", "enhanced", "disabled"), "Container Insights level")
    fargate_weight: int = checked(1, in_range(0, 1000), "weight of FARGATE in the default strategy")
    fargate_base: int = checked(1, in_range(0, 100000), "tasks always placed on FARGATE")
    fargate_spot_weight: int = checked(0, in_range(0, 1000), "weight of FARGATE_SPOT in the default strategy")


@dataclass(frozen=True)
class Logs:
    retention_days: int = checked(30, one_of(*LOG_RETENTION_DAYS), "days every log group keeps events")
    kms_encrypted: bool = checked(False, doc="encrypt log groups with the environment's KMS key")
    archive: bool = checked(False, doc="also stream the services' logs to an S3 archive bucket, kept longer at lower cost")
    archive_expiry_days: int = checked(2557, in_range(1, 36500), "days archived logs are kept")


SUBSCRIPTION_ENDPOINTS = {
    "email": (r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", "an email address such as ops@example.com"),
    "https": (r"https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?", "an https:// URL"),
    "sqs": (
        r"(arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:)?[A-Za-z0-9_-]{1,80}(\.fifo)?",
        "an SQS queue ARN, or a queue name in this account and region",
    ),
    "lambda": (
        r"(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?",
        "a Lambda function ARN, or a function name in this account and region",
    ),
}


@dataclass(frozen=True)
class Subscription:
    """One SNS subscription; the endpoint is checked against its protocol when loaded."""

    protocol: str = checked(check=one_of(*SUBSCRIPTION_ENDPOINTS), doc="email, https, sqs or lambda")
    endpoint: str = checked(doc="the address, URL, queue or function that receives notifications")

    def endpoint_problem(self) -> str | None:
        pattern, accepted = SUBSCRIPTION_ENDPOINTS[self.protocol]
        return None if re.fullmatch(pattern, self.endpoint) else accepted


def check_subscriptions(subscriptions: tuple[Subscription, ...], filename: str, path: str) -> list[str]:
    """One line per subscription whose endpoint does not fit its protocol, or that is listed twice."""
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


CRON = matches(r"(cron|rate)\(.+\)", "an EventBridge Scheduler expression such as cron(0 19 ? * MON-FRI *), or empty")
MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")


@dataclass(frozen=True)
class HealthCheck:
    interval_seconds: int = checked(15, in_range(5, 300), "target group health check interval")
    timeout_seconds: int = checked(5, in_range(2, 120), "target group health check timeout")
    healthy_threshold: int = checked(2, in_range(2, 10), "consecutive passes before a target is healthy")
    unhealthy_threshold: int = checked(3, in_range(2, 10), "consecutive failures before a target is unhealthy")
    grace_period_seconds: int = checked(60, in_range(0, 2147483647), "ECS ignores ALB health checks this long after a task starts")
    deregistration_delay_seconds: int = checked(15, in_range(0, 3600), "time a deregistering target drains in-flight requests")


@dataclass(frozen=True)
class OffHours:
    stop: str = checked("", CRON, "when every service scales to zero (empty: never)")
    start: str = checked("", CRON, "when services scale back to their minimum")
    timezone: str = checked("UTC", matches(r"[A-Za-z_]+(/[A-Za-z_+-]+)*", "an IANA time zone such as Europe/Berlin"), "time zone of both")


@dataclass(frozen=True)
class Scaling:
    min_tasks: int = checked(1, in_range(0, 1000), "fewest tasks per service")
    max_tasks: int = checked(4, in_range(1, 1000), "most tasks per service")
    cpu_target_percent: int = checked(60, in_range(10, 90), "average CPU the service scales to hold")
    requests_per_target: int = checked(500, in_range(1, 1000000), "ALB requests per task per minute the service scales to hold")
    scale_in_cooldown_seconds: int = checked(300, in_range(0, 3600), "wait after scaling in")
    scale_out_cooldown_seconds: int = checked(60, in_range(0, 3600), "wait after scaling out")
    off_hours: OffHours = checked(OffHours(), doc="scale every service to zero outside working hours")


@dataclass(frozen=True)
class ServiceSettings:
    bake_time_minutes: int = checked(5, in_range(0, 1440), "blue and green both run this long after the switch, for a fast rollback")
    log_level: str = checked("INFO", one_of("DEBUG", "INFO", "WARNING", "ERROR"), "LOG_LEVEL, kept in an SSM parameter")
    health_check: HealthCheck = checked(HealthCheck(), doc="target groups' health checks")
    scaling: Scaling = checked(Scaling(), doc="task counts and autoscaling")


@dataclass(frozen=True)
class AlarmSpec:
    threshold: float = checked(doc="the value compared with the metric")
    period_seconds: int = checked(60, one_of(10, 30, 60, 120, 300, 600, 900, 3600), "length of one datapoint")
    evaluation_periods: int = checked(3, in_range(1, 100), "datapoints looked at")
    datapoints_to_alarm: int = checked(3, in_range(1, 100), "of those, how many must breach")
    treat_missing_data: str = checked("notBreaching", one_of(*MISSING_DATA), "what a missing datapoint counts as")


@dataclass(frozen=True)
class Notifications:
    subscriptions: tuple[Subscription, ...] = checked((), doc="who receives the environment's alarms and deployment events")


@dataclass(frozen=True)
class Canary:
    schedule: str = checked("rate(5 minutes)", CRON, "how often the canary checks every public health URL")


@dataclass(frozen=True)
class Alarms:
    target_5xx: AlarmSpec = checked(AlarmSpec(threshold=10.0), doc="5XX responses from a service's tasks per period, at or above")
    healthy_hosts: AlarmSpec = checked(AlarmSpec(threshold=1.0, treat_missing_data="breaching"), doc="healthy targets, below")
    running_tasks: AlarmSpec = checked(AlarmSpec(threshold=1.0), doc="running tasks, below")
    latency_p99: AlarmSpec = checked(
        AlarmSpec(threshold=2.0, evaluation_periods=5, datapoints_to_alarm=3), doc="p99 target response time in seconds, above"
    )
    error_logs: AlarmSpec = checked(
        AlarmSpec(threshold=1.0, period_seconds=300, evaluation_periods=1, datapoints_to_alarm=1),
        doc="ERROR log lines of a service per period, at or above",
    )
    canary: AlarmSpec = checked(
        AlarmSpec(threshold=1.0, period_seconds=300, evaluation_periods=2, datapoints_to_alarm=2, treat_missing_data="breaching"),
        doc="the canary's worst success (0 or 1) per period, below; missing data means the canary stopped",
    )


@dataclass(frozen=True)
class Environment:
    protected: bool = checked(False, doc="ask for the target's name before deploying; retain stateful resources")
    network: Network = checked(Network(), doc="VPC, subnets, NAT and endpoints")
    load_balancer: LoadBalancer = checked(LoadBalancer(), doc="the environment's ALB")
    cluster: Cluster = checked(Cluster(), doc="the ECS cluster")
    logs: Logs = checked(Logs(), doc="log retention and encryption")
    services: ServiceSettings = checked(ServiceSettings(), doc="how every service runs in this environment")
    alarms: Alarms = checked(Alarms(), doc="alarm thresholds, periods and datapoints")
    notifications: Notifications = checked(Notifications(), doc="the environment's SNS topic")
    canary: Canary = checked(Canary(), doc="the scheduled health-check canary")
    compliance: str = checked(
        "none",
        one_of(*COMPLIANCE_MODES),
        "control-tower: meet AWS Control Tower's proactive controls (turns on what they require; see docs/compliance.md)",
    )

    def __post_init__(self):
        # What the controls require is turned on here; a file that sets the opposite is refused by _check_compliance.
        if self.compliance == "control-tower":
            for name, value in compliance_settings(self).items():
                object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Config:
    """Everything one deploy target's templates are rendered from."""

    target: str
    project: Project
    environment: Environment

    @property
    def stack_prefix(self) -> str:
        return f"{self.project.name}-{self.target}"

    @property
    def protected(self) -> bool:
        return self.environment.protected

    @property
    def warnings(self) -> list[str]:
        """Accepted, but said out loud: build.py prints each line."""
        found = []
        if self.environment.protected and self.environment.load_balancer.plain_http:
            found.append(
                f"{self.target}: load_balancer.plain_http is true: this protected target serves plain HTTP on port 80, "
                "without TLS; set a certificate_arn and domain_name to serve HTTPS"
            )
        return found

    @property
    def compliant(self) -> bool:
        """compliance: control-tower -- every bucket also gets server access logging."""
        return self.environment.compliance == "control-tower"


# --- generic, field-driven loading -------------------------------------------


class _Reader:
    """Converts plain YAML data into a dataclass, collecting problems."""

    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[str] = []

    def problem(self, path: str, value: Any, accepted: str, hint: str = "") -> None:
        self.problems.append(f"{self.filename}: {path}: {value!r} is not accepted; {hint}expected {accepted}")

    def read(self, cls: type, data: Any, path: str, base: Any = None) -> Any:
        """Read ``cls`` from ``data``; keys it omits come from ``base`` (the field's default) or the class."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problem(path or "(top level)", data, "a mapping of keys to values")
            return None
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in sorted(set(data) - set(fields), key=str):
            self.problem(self._join(path, str(key)), key, "one of the keys " + ", ".join(fields), did_you_mean(key, fields))
        values = {}
        for name, spec in fields.items():
            key_path = self._join(path, name)
            if name in data:
                default = getattr(base, name) if base is not None else spec.default
                values[name] = self.value(hints[name], data[name], key_path, spec.metadata.get("check"), default)
            elif base is not None:
                values[name] = getattr(base, name)
            elif spec.default is dataclasses.MISSING:
                self.problems.append(f"{self.filename}: {key_path}: missing; it is required ({spec.metadata.get('doc')})")
                values[name] = None
        if any(v is None for v in values.values()):
            return None
        return cls(**values)

    def value(self, kind: Any, data: Any, path: str, check: Check | None, default: Any = None) -> Any:
        if dataclasses.is_dataclass(kind):
            return self.read(kind, data, path, default if dataclasses.is_dataclass(default) else None)
        origin = typing.get_origin(kind)
        if origin is tuple:
            item_kind = typing.get_args(kind)[0]
            if not isinstance(data, list):
                self.problem(path, data, "a list")
                return None
            items = [self.value(item_kind, item, f"{path}[{i}]", None) for i, item in enumerate(data)]
            return None if any(item is None for item in items) else tuple(items)
        if not self._is_instance(data, kind):
            self.problem(path, data, f"a {kind.__name__}")
            return None
        if kind is float:
            data = float(data)
        accepted = check(data) if check else None
        if accepted:
            self.problem(path, data, accepted, did_you_mean(data, getattr(check, "schema", {}).get("enum", ())))
            return None
        return data

    @staticmethod
    def _is_instance(data: Any, kind: type) -> bool:
        if kind is int:  # YAML's true/false are bools, which Python counts as ints
            return isinstance(data, int) and not isinstance(data, bool)
        if kind is float:
            return isinstance(data, (int, float)) and not isinstance(data, bool)
        return isinstance(data, kind)

    @staticmethod
    def _join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, noting every key a mapping repeats (PyYAML keeps the last one silently)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.repeated: list[tuple[Any, int, int]] = []  # key, first line, repeated line

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<" merges may be overridden on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, typing.Hashable):
                continue  # the base class refuses an unhashable key with its own message
            line = key_node.start_mark.line + 1
            if key in first_lines:
                self.repeated.append((key, first_lines[key], line))
            else:
                first_lines[key] = line
        return super().construct_mapping(node, deep=deep)


def _decode(path: Path, raw: bytes, problems: list[str]) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.append(f"{path}: line {line}: byte {raw[error.start]:#04x} is not UTF-8 text; expected a UTF-8 file (re-save it as UTF-8)")
        return None


def _load_yaml(path: Path, problems: list[str]) -> Any:
    """The file's one YAML document; on a fault, one line in ``problems`` and None."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
        return None
    except OSError as error:
        problems.append(f"{path}: cannot be read ({error.strerror or error}); expected a readable file")
        return None
    text = _decode(path, raw, problems)
    if text is None:
        return None
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        # PyYAML splits its reason in two: "expected a single document in the stream", "but found another document".
        reason = ", ".join(part for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part)
        problems.append(f"{path}:{where}: not valid YAML ({reason or error})")
        return None
    finally:
        loader.dispose()
    for key, first, again in loader.repeated:
        problems.append(f"{path}: line {again}: key {key!r} repeats the one at line {first}; expected each key once in a mapping")
    if data is None:
        problems.append(
            f"{path}: the file is empty; expected its settings as a mapping of keys to values "
            "(a blank file is refused so that it never deploys with every default)"
        )
    return data


def check_parameters_dir(parameters_dir: Path) -> None:
    """Raise ConfigError unless ``parameters_dir`` is a directory holding project.yaml."""
    directory = Path(parameters_dir)
    if not directory.is_dir():
        reason = "is not a directory" if directory.exists() else "no such directory"
    elif not (directory / PROJECT_FILE).is_file():
        reason = f"holds no {PROJECT_FILE}"
    else:
        return
    raise ConfigError(
        [f"{directory}: {reason}; expected the parameters directory, holding {PROJECT_FILE} and one <target>.yaml per environment"]
    )


# --- cross-field rules --------------------------------------------------------


def _check_services(project: Project, filename: str) -> list[str]:
    problems = []
    seen_names: dict[str, int] = {}
    seen_routes: dict[str, int] = {}
    for index, service in enumerate(project.services):
        path = f"services[{index}]"
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


def carve_subnets(network: Network) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The public and private subnet CIDRs, given or carved from the VPC range.

    Carving splits the VPC into 8 equal blocks (a /16 gives /19s): public
    subnets take the first blocks and private ones the blocks after them, so
    2 or 3 AZs fit with room to add subnets later.
    """
    vpc = ipaddress.IPv4Network(network.vpc_cidr)
    blocks = [str(b) for b in vpc.subnets(prefixlen_diff=3)]
    public = network.public_subnets or tuple(blocks[: network.az_count])
    private = network.private_subnets or tuple(blocks[3 : 3 + network.az_count])
    return public, private


def _check_network(network: Network, filename: str) -> list[str]:
    problems = []
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


def check_target_names(project_name: str, target: str, filename: str) -> list[str]:
    """Problems with the names a target's stacks and resources get from the project and target names.

    Caught here, as a configuration error naming the key to change, instead of as a refused deploy.
    """
    stack = f"{project_name}-{target}"
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


def compliance_settings(environment: Environment) -> dict[str, Any]:
    """The Environment fields that compliance: control-tower turns on, with the values it gives them."""
    logs = environment.logs
    return {
        "logs": dataclasses.replace(logs, retention_days=max(logs.retention_days, COMPLIANCE_LOG_RETENTION_DAYS), kms_encrypted=True),
        "load_balancer": dataclasses.replace(environment.load_balancer, deletion_protection=True),
    }


# Settings a compliance: control-tower file may not contradict: key path -> (test, what is accepted).
COMPLIANCE_RULES: dict[tuple[str, ...], tuple[Callable[[Any], bool], str]] = {
    ("logs", "retention_days"): (
        lambda v: isinstance(v, int) and v >= COMPLIANCE_LOG_RETENTION_DAYS,
        f"{COMPLIANCE_LOG_RETENTION_DAYS} or more, or omit it (CT.CLOUDWATCH.PR.2: log groups kept at least a year)",
    ),
    ("logs", "kms_encrypted"): (lambda v: v is True, "true, or omit it (CT.CLOUDWATCH.PR.3: log groups encrypted with a KMS key)"),
    ("load_balancer", "deletion_protection"): (
        lambda v: v is True,
        "true, or omit it (CT.ELASTICLOADBALANCING.PR.5: deletion protection on)",
    ),
    ("cluster", "container_insights"): (
        lambda v: v == "enabled",
        "'enabled', or omit it (CT.ECS.PR.2 accepts no other value, not even 'enhanced')",
    ),
}


def _check_compliance(environment: Environment, filename: str) -> list[str]:
    """One line per setting of the file that contradicts compliance: control-tower."""
    if environment.compliance != "control-tower":
        return []
    # The loaded values are already turned on: read what the file itself says.
    data = yaml.safe_load(Path(filename).read_text(encoding="utf-8")) if Path(filename).is_file() else {}
    problems = []
    for path, (accepts, accepted) in COMPLIANCE_RULES.items():
        section = data.get(path[0]) if isinstance(data, dict) else None
        if isinstance(section, dict) and path[1] in section and not accepts(section[path[1]]):
            problems.append(
                f"{filename}: {'.'.join(path)}: {section[path[1]]!r} is not accepted with compliance: control-tower; expected {accepted}"
            )
    if not environment.load_balancer.certificate_arn:
        problems.append(
            f"{filename}: load_balancer.certificate_arn: missing; compliance: control-tower requires an ACM certificate "
            "(CT.ELASTICLOADBALANCING.PR.1: HTTP must redirect to HTTPS); expected an ACM certificate ARN, or compliance: none"
        )
    return problems


# --- public API ---------------------------------------------------------------


def available_targets(parameters_dir: Path) -> list[str]:
    """Every environment target: one per ``<name>.yaml`` beside project.yaml."""
    check_parameters_dir(parameters_dir)
    return sorted(p.stem for p in Path(parameters_dir).glob("*.yaml") if p.name not in (PROJECT_FILE, PIPELINE_FILE))


def load_file(path: Path, model: type, checks: Callable[[Any, str], list[str]]) -> Any:
    """Read one parameter file into ``model``, then run ``checks(loaded, filename)`` across its fields.

    Raises ConfigError with every problem of the file, one line each.
    """
    problems: list[str] = []
    data = _load_yaml(Path(path), problems)
    if problems:
        raise ConfigError(problems)
    reader = _Reader(str(path))
    loaded = reader.read(model, data, "")
    if loaded is not None:
        reader.problems += checks(loaded, str(path))
    if reader.problems:
        raise ConfigError(reader.problems)
    return loaded


def load_project(parameters_dir: Path) -> Project:
    check_parameters_dir(parameters_dir)
    return load_file(Path(parameters_dir) / PROJECT_FILE, Project, _check_services)


def _check_environment(environment: Environment, filename: str) -> list[str]:
    return (
        _check_compliance(environment, filename)
        + _check_network(environment.network, filename)
        + _check_load_balancer(environment, filename)
        + _check_cluster(environment.cluster, filename)
        + _check_services_settings(environment, filename)
        + check_subscriptions(environment.notifications.subscriptions, filename, "notifications.subscriptions")
    )


def unknown_target(parameters_dir: Path, target: str) -> ConfigError:
    """The error for a target with no parameter file: the known ones, and the nearest of them."""
    known = available_targets(parameters_dir)
    if (Path(parameters_dir) / PIPELINE_FILE).is_file():
        known_text = ", ".join(known) + (", or " if known else "") + "pipeline"
        known = [*known, "pipeline"]
    else:
        known_text = ", ".join(known) or "none"
    path = Path(parameters_dir) / f"{target}.yaml"
    return ConfigError([f"{path}: no such target {target!r}; {did_you_mean(target, known)}expected one of: {known_text}"])


def load_environment(parameters_dir: Path, target: str) -> Environment:
    path = Path(parameters_dir) / f"{target}.yaml"
    if not path.is_file():
        raise unknown_target(parameters_dir, target)
    return load_file(path, Environment, _check_environment)


def load(parameters_dir: Path, target: str) -> Config:
    """Load and validate one target's configuration; raise ConfigError listing every problem."""
    check_parameters_dir(parameters_dir)
    problems: list[str] = []
    project = environment = None
    try:
        project = load_project(parameters_dir)
    except ConfigError as error:
        problems += error.problems
    try:
        environment = load_environment(parameters_dir, target)
    except ConfigError as error:
        problems += error.problems
    if problems:
        raise ConfigError(problems)
    names_problems = check_target_names(project.name, target, str(Path(parameters_dir) / f"{target}.yaml"))
    if names_problems:
        raise ConfigError(names_problems)
    return Config(target=target, project=project, environment=environment)
