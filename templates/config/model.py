"""The configuration model: frozen, typed dataclasses with documented defaults.

``parameters/project.yaml`` is a Project (the services); every other ``parameters/<target>.yaml`` is an
Environment.  A field's type says what is accepted, its default documents the default, and its check
(``templates/config/fields.py``) says which values are valid.  The reader (``reader.py``) fills these from
YAML; the cross-field rules (``rules.py``) and compliance (``compliance.py``) run after the fields are typed.
Nothing here reads a file or imports troposphere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import re
from dataclasses import dataclass

from templates.config.fields import (
    CRON,
    HOST_NAME,
    NAME,
    SCHEDULE,
    checked,
    in_range,
    is_cidr,
    is_route_path,
    matches,
    non_negative_number,
    one_of,
    optional_repository_path,
    zero_or,
)

PROJECT_FILE = "project.yaml"
PIPELINE_FILE = "pipeline.yaml"  # the pipeline target's settings (templates/config/pipeline.py)

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

# The variables the task definition sets in every container (templates/stacks/service/task.py builds them from
# this list), the settings it injects, and what the runtime itself sets: a service's secret may not take their names.
TASK_VARIABLES = ("PORT", "SERVICE_NAME", "SERVICE_VERSION", "ROUTE_PREFIX", "HEALTH_CHECK_PATH")
SETTING_VARIABLES = ("LOG_LEVEL",)
RUNTIME_VARIABLES = ("PATH", "HOME", "HOSTNAME", "LANG", "PYTHONPATH")
RUNTIME_VARIABLE_PREFIXES = ("AWS_", "ECS_")  # ECS sets AWS_REGION, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, ECS_CONTAINER_METADATA_URI, ...

# How a container health check runs its command: "CMD" to execute it directly, "CMD-SHELL" with the container's
# shell (ECS API Reference, HealthCheck: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html).
HEALTH_COMMAND_FORMS = ("CMD", "CMD-SHELL")

# compliance: control-tower -- the AWS Control Tower proactive controls the environment must pass
# (docs/compliance.md; what they turn on is templates/config/compliance.py).
COMPLIANCE_MODES = ("none", "control-tower")

# How long ECS waits for the blue/green hook's answer before it rolls the deployment back (the hook's
# TimeoutConfiguration); the hook function gives up sooner, after its own bound (docs/health-check.md).
HOOK_TIMEOUT_MINUTES = 15

MAX_RULE_PRIORITY = 50_000
DERIVED_PRIORITY_FROM = 1_000
# A listener rule's priority: 1 to 50,000 (Elastic Load Balancing API Reference, CreateRule, Priority:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html).
LISTENER_RULE_PRIORITY = in_range(1, MAX_RULE_PRIORITY)


def camel_case(name: str) -> str:
    """``api-service`` -> ``ApiService``, ``LOG_LEVEL`` -> ``LogLevel``: a name as logical ids and Sids spell it."""
    return "".join(part.capitalize() for part in re.split(r"[-_\s]+", name))


def derived_priority(route_path: str) -> int:
    digest = int.from_bytes(hashlib.sha256(route_path.encode("utf-8")).digest()[:8], "big")
    return DERIVED_PRIORITY_FROM + digest % (MAX_RULE_PRIORITY - DERIVED_PRIORITY_FROM + 1)


# --- project.yaml -------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str = checked(check=NAME, doc="service name; also its ECR repository and stack name")
    route_path: str = checked(check=is_route_path, doc="ALB path prefix routed to the service")
    source_path: str = checked("", optional_repository_path, "directory of the service's sources (default services/<name>)")
    dockerfile: str = checked("", optional_repository_path, "Dockerfile path (default <source_path>/Dockerfile)")
    container_port: int = checked(8080, in_range(1024, 65535), "port the container listens on")
    health_check_path: str = checked(
        "/health",
        matches(r"/([A-Za-z0-9_-][A-Za-z0-9._-]*)?(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*", "a path starting with /, no segment starting with ."),
        "health endpoint",
    )
    cpu: int = checked(256, one_of(*FARGATE_MEMORY), "Fargate cpu units")
    memory: int = checked(512, doc="Fargate memory in MiB, valid for the cpu")
    build_context: str = checked("", optional_repository_path, "docker build context (default <source_path>)")
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
        zero_or(LISTENER_RULE_PRIORITY),
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
        return camel_case(self.name)

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

    def health_command_warnings(self) -> list[str]:
        """A service whose health path is not /health, with a container health command of its own that names neither
        the path nor HEALTH_CHECK_PATH (the variable the task passes it): its tasks would check another endpoint."""
        default = next(f for f in dataclasses.fields(Service) if f.name == "container_health_command").default
        return [
            f"services[{index}].container_health_command: {list(s.container_health_command)} names neither health_check_path "
            f"{s.health_check_path!r} nor $HEALTH_CHECK_PATH (passed to the container); its tasks may check another endpoint"
            for index, s in enumerate(self.services)
            if s.health_check_path != "/health"
            and tuple(s.container_health_command) != default
            and not any(s.health_check_path in part or "HEALTH_CHECK_PATH" in part for part in s.container_health_command)
        ]


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
    threshold: float = checked(check=non_negative_number, doc="the value compared with the metric")
    period_seconds: int = checked(60, one_of(10, 30, 60, 120, 300, 600, 900, 3600), "length of one datapoint")
    evaluation_periods: int = checked(3, in_range(1, 100), "datapoints looked at")
    datapoints_to_alarm: int = checked(3, in_range(1, 100), "of those, how many must breach")
    treat_missing_data: str = checked("notBreaching", one_of(*MISSING_DATA), "what a missing datapoint counts as")


@dataclass(frozen=True)
class Notifications:
    subscriptions: tuple[Subscription, ...] = checked((), doc="who receives the environment's alarms and deployment events")


@dataclass(frozen=True)
class Canary:
    schedule: str = checked("rate(5 minutes)", SCHEDULE, "how often the canary checks every public health URL")


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
        found += [f"{PROJECT_FILE}: {line}" for line in self.project.health_command_warnings()]
        return found

    @property
    def compliant(self) -> bool:
        """compliance: control-tower -- every bucket also gets server access logging."""
        return self.environment.compliance == "control-tower"



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
