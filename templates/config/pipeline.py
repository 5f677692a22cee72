"""Typed, validated settings of the ``pipeline`` deploy target: ``parameters/pipeline.yaml``.

The pipeline builds every service of ``project.yaml`` and promotes the same
images through the staging and production targets.  Its settings are loaded
with the field-driven reader (``reader.py``), so every problem is one line naming the
file, the key path, the value and what is accepted, and all of them are
reported at once.

Per-service build settings that ``project.yaml``'s Service does not carry (the
unit-test command, a real endpoint for the integration test) are listed here
by service name; a service without an entry gets the default.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from templates.config.fields import NAME, checked, did_you_mean, in_range, matches, one_of, repository_path
from templates.config.loading import available_targets, load, load_project
from templates.config.model import HOOK_TIMEOUT_MINUTES, LOG_RETENTION_DAYS, PIPELINE_FILE, Config, Project, Service, Subscription
from templates.config.reader import ConfigError, check_parameters_dir, load_file
from templates.config.rules import check_subscriptions

TARGET = "pipeline"
# CodeBuild waits "from 5 to 2160 (36 hours)" minutes before timing a build out (CodeBuild API Reference,
# CreateProject, timeoutInMinutes: https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html).
CODEBUILD_MAX_TIMEOUT_MINUTES = 2160
# Packaging, uploads, change sets and every nested stack's own operations around the services' deployments.
STACK_OPERATIONS_MINUTES = 30


def release_minutes(environment: Config) -> int:
    """How long a release of ``environment`` may take: its services deploy side by side, each at most its hook's
    timeout (ECS rolls back after it), the bake time, its tasks' grace period and blue's drain; a failed release
    runs one more back (CloudFormation's rollback is a blue/green deployment of the previous revision)."""
    services = environment.environment.services
    check = services.health_check
    starting_and_draining = -(-(check.grace_period_seconds + check.deregistration_delay_seconds) // 60)
    return STACK_OPERATIONS_MINUTES + 2 * (HOOK_TIMEOUT_MINUTES + services.bake_time_minutes + starting_and_draining)
SOURCE_PROVIDERS = ("codestar", "codecommit", "s3")
COMPUTE_TYPES = ("BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE", "BUILD_GENERAL1_XLARGE")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
EXECUTION_MODES = ("SUPERSEDED", "QUEUED")

# A V2 trigger's push filter takes at most 8 file-path patterns and a trigger at most 3 push filters.
PATHS_PER_FILTER = 8
PUSH_FILTERS = 3
MAX_TRIGGER_PATHS = PATHS_PER_FILTER * PUSH_FILTERS

# What the infrastructure is built from: a change here runs the pipeline, as a service change does.
INFRASTRUCTURE_PATHS = (
    "templates/**",
    "parameters/**",
    "lambda/**",
    "deployer/**",
    "builder/**",
    "pipeline/**",
    "deploy.py",
    "build.py",
    "requirements*.txt",
)

CONNECTION_ARN = r"arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection/([0-9a-f-]{36})"



# --- pipeline.yaml ------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    repository: str = checked(doc="codestar: owner/name; codecommit: the repository name; s3: the bucket holding the source zip")
    provider: str = checked("codestar", one_of(*SOURCE_PROVIDERS), "codestar (a CodeStar/CodeConnections connection), codecommit or s3")
    connection_arn: str = checked(
        "",
        matches(f"({CONNECTION_ARN})?", "a CodeStar connection ARN ending in connection/<uuid>, or empty"),
        "codestar: the connection, in the pipeline's account and region (the template rebuilds its ARN from the id)",
    )
    branch: str = checked("main", matches(r"[A-Za-z0-9._/-]{1,255}", "a branch name such as main"), "the branch that is released")
    object_key: str = checked("", doc="s3 only: the key of the source zip in the bucket")

    @property
    def connection_id(self) -> str:
        found = re.fullmatch(CONNECTION_ARN, self.connection_arn)
        return found.group(2) if found else ""

    @property
    def connection_service(self) -> str:
        found = re.fullmatch(CONNECTION_ARN, self.connection_arn)
        return found.group(1) if found else "codestar-connections"


@dataclass(frozen=True)
class Ecr:
    keep_tagged_images: int = checked(50, in_range(1, 1000), "tagged images kept per repository; older ones expire")
    untagged_expiry_days: int = checked(7, in_range(1, 3650), "days an untagged image is kept")
    replication_region: str = checked(
        "",
        matches(r"([a-z]{2}(-gov)?-[a-z]+-\d)?", "an AWS region such as eu-west-1, or empty"),
        "replicate every repository to this region (disaster recovery); empty: no replication",
    )


@dataclass(frozen=True)
class Artifacts:
    expiry_days: int = checked(30, in_range(1, 3650), "days pipeline artifacts (and their old versions) are kept")


@dataclass(frozen=True)
class UnitTests:
    service: str = checked(check=NAME, doc="a service of project.yaml")
    command: str = checked(doc="the shell command that runs its unit tests")
    directory: str = checked(
        ".", repository_path, "where the command runs, relative to the repository root (the next steps stay at the root)"
    )


@dataclass(frozen=True)
class Build:
    image: str = checked(
        "aws/codebuild/standard:7.0",
        matches(r"aws/codebuild/(standard|amazonlinux2?-x86_64-standard):[0-9.]+", "a CodeBuild-managed Linux image"),
        "CodeBuild image",
    )
    compute_type: str = checked("BUILD_GENERAL1_SMALL", one_of(*COMPUTE_TYPES), "CodeBuild compute type")
    python_version: str = checked("3.11", one_of("3.10", "3.11", "3.12"), "Python runtime of the build image")
    timeout_minutes: int = checked(30, in_range(5, 480), "a build's timeout")
    shared_paths: tuple[str, ...] = checked(
        (), doc="paths every image is built from too (a shared kit): a change there rebuilds every service"
    )
    test_commands: tuple[UnitTests, ...] = checked((), doc="per service, the unit-test command (default: python -m pytest <source_path>)")


@dataclass(frozen=True)
class IntegrationCheck:
    service: str = checked(check=NAME, doc="a service of project.yaml")
    path: str = checked(check=matches(r"/[A-Za-z0-9/._~%?=&-]*", "a path starting with /"), doc="request path, from the site root")
    method: str = checked("GET", one_of(*HTTP_METHODS), "HTTP method")
    body: str = checked("", doc="JSON request body, or empty")
    expect_status: int = checked(200, in_range(100, 599), "the status a passing response has")


@dataclass(frozen=True)
class Approval:
    timeout_minutes: int = checked(
        1440, in_range(5, 86400), "how long the approval waits before it fails (CodePipeline accepts 5 to 86400)"
    )


@dataclass(frozen=True)
class Notifications:
    subscriptions: tuple[Subscription, ...] = checked((), doc="who hears of failed runs and pending approvals")


@dataclass(frozen=True)
class PipelineLogs:
    retention_days: int = checked(90, one_of(*LOG_RETENTION_DAYS), "days the build logs are kept")
    kms_encrypted: bool = checked(True, doc="encrypt the build logs with the pipeline's key")


@dataclass(frozen=True)
class PipelineSettings:
    source: Source = checked(doc="where the monorepo comes from")
    protected: bool = checked(True, doc="ask for the target's name before deploying; retain the build log groups on deletion")
    staging_target: str = checked("staging", NAME, "the environment deployed and tested first")
    production_target: str = checked("production", NAME, "the environment released after the approval")
    execution_mode: str = checked("SUPERSEDED", one_of(*EXECUTION_MODES), "how runs that overlap are handled")
    infrastructure_paths: tuple[str, ...] = checked(INFRASTRUCTURE_PATHS, doc="non-service paths whose change runs the pipeline")
    ecr: Ecr = checked(Ecr(), doc="the image repositories")
    artifacts: Artifacts = checked(Artifacts(), doc="the artifact bucket")
    build: Build = checked(Build(), doc="the CodeBuild projects")
    integration_tests: tuple[IntegrationCheck, ...] = checked((), doc="one real request per service against staging, besides its health")
    approval: Approval = checked(Approval(), doc="the manual approval before production")
    notifications: Notifications = checked(Notifications(), doc="the topic that failures and approvals go to")
    logs: PipelineLogs = checked(PipelineLogs(), doc="the build logs")


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the pipeline target's templates are rendered from."""

    project: Project
    pipeline: PipelineSettings
    target: str = TARGET
    # Every environment target's configuration: the deploy roles and boundaries are derived from their templates.
    environments: tuple[Config, ...] = ()

    def environment(self, target: str) -> Config:
        return next(e for e in self.environments if e.target == target)

    @property
    def stack_prefix(self) -> str:
        return f"{self.project.name}-{self.target}"

    @property
    def protected(self) -> bool:
        return self.pipeline.protected

    def environment_stack(self, environment: str) -> str:
        return f"{self.project.name}-{environment}"

    def test_command(self, service: Service) -> str:
        return self.unit_tests(service).command

    def unit_tests(self, service: Service) -> UnitTests:
        for entry in self.pipeline.build.test_commands:
            if entry.service == service.name:
                return entry
        return UnitTests(service=service.name, command=f"python -m pytest {shlex.quote(service.source_dir)}")

    def has_own_test_command(self, service: Service) -> bool:
        return any(entry.service == service.name for entry in self.pipeline.build.test_commands)

    def integration_checks(self, service: Service) -> tuple[IntegrationCheck, ...]:
        return tuple(c for c in self.pipeline.integration_tests if c.service == service.name)


# --- derived values -----------------------------------------------------------


def _covered(path: str, by: str) -> bool:
    """Whether the pattern ``by`` (a file or a ``dir/**``) already matches ``path``."""
    if by == path:
        return True
    if by.endswith("/**"):
        return path.startswith(by[: -len("**")])
    return False


def service_paths(config: PipelineConfig, service: Service) -> tuple[str, ...]:
    """What one service's image is built from: its sources, its Dockerfile and the shared paths."""
    paths = [service.source_dir, service.dockerfile_path, *config.pipeline.build.shared_paths]
    return tuple(dict.fromkeys(str(PurePosixPath(p)) for p in paths))


def _minimal(patterns: list[str]) -> list[str]:
    kept: list[str] = []
    for pattern in dict.fromkeys(patterns):
        if any(_covered(pattern, other) for other in patterns if other != pattern):
            continue
        kept.append(pattern)
    return kept


def trigger_paths(config: PipelineConfig) -> tuple[str, ...]:
    """File-path patterns whose change runs the pipeline: every service's build inputs plus the infrastructure.

    A directory becomes ``dir/**``.  When there are more than a V2 trigger holds
    (8 per push filter, 3 filters), the service patterns collapse to their
    top-level directories (``apps/**``), which still cover them.
    """
    service_patterns = []
    for service in config.project.services:
        service_patterns += [_pattern(p, service) for p in (service.context_dir, *service_paths(config, service))]
    infrastructure = list(config.pipeline.infrastructure_paths)
    patterns = _minimal(infrastructure + service_patterns)
    if len(patterns) > MAX_TRIGGER_PATHS:
        tops = [p.split("/", 1)[0] + ("/**" if "/" in p else "") for p in service_patterns]
        patterns = _minimal(infrastructure + tops)
    return tuple(patterns)


def _pattern(path: str, service: Service) -> str:
    """A file stays as it is; a directory (anything but the Dockerfile) becomes ``dir/**``."""
    if path == service.dockerfile_path or any(ch in path for ch in "*?"):
        return path
    return f"{path.rstrip('/')}/**"


def path_filters(config: PipelineConfig) -> list[tuple[str, ...]]:
    """The trigger patterns in chunks of at most 8, one push filter each."""
    paths = trigger_paths(config)
    return [paths[i : i + PATHS_PER_FILTER] for i in range(0, len(paths), PATHS_PER_FILTER)]


# --- cross-field rules --------------------------------------------------------


def known_regions(service: str) -> frozenset[str]:
    """Every region botocore's endpoint data lists ``service`` in, across partitions."""
    import botocore.session  # here: the rest of the configuration needs no AWS SDK

    session = botocore.session.get_session()
    return frozenset(r for p in session.get_available_partitions() for r in session.get_available_regions(service, p))


def _check_replication_region(ecr: Ecr, filename: str) -> list[str]:
    region = ecr.replication_region
    regions = known_regions("ecr")
    if not region or region in regions:
        return []
    return [
        f"{filename}: ecr.replication_region: {region!r} is not accepted; {did_you_mean(region, regions)}expected a region "
        "ECR serves, such as eu-west-1, or empty"
    ]


def _check_source(source: Source, filename: str) -> list[str]:
    problems = []
    if source.provider == "codestar":
        if not source.connection_arn:
            problems.append(f"{filename}: source.connection_arn: missing; it is required when source.provider is 'codestar'")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", source.repository):
            problems.append(
                f"{filename}: source.repository: {source.repository!r} is not accepted; expected owner/name for provider 'codestar'"
            )
    elif source.connection_arn:
        problems.append(
            f"{filename}: source.connection_arn: {source.connection_arn!r} is not accepted with provider {source.provider!r}; "
            "expected it only with provider 'codestar'"
        )
    if source.provider == "codecommit" and not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", source.repository):
        problems.append(
            f"{filename}: source.repository: {source.repository!r} is not accepted; "
            "expected a CodeCommit repository name for provider 'codecommit'"
        )
    if source.provider == "s3":
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", source.repository):
            problems.append(
                f"{filename}: source.repository: {source.repository!r} is not accepted; expected an S3 bucket name for provider 's3'"
            )
        if not source.object_key:
            problems.append(
                f"{filename}: source.object_key: missing; it is required when source.provider is 's3' (the key of the source zip)"
            )
    elif source.object_key:
        problems.append(
            f"{filename}: source.object_key: {source.object_key!r} is not accepted with provider {source.provider!r}; "
            "expected it only with 's3'"
        )
    return problems


def _check_services(settings: PipelineSettings, project: Project, filename: str) -> list[str]:
    problems = []
    known = [s.name for s in project.services]
    accepted = "a service of project.yaml: " + ", ".join(known)
    seen: dict[str, int] = {}
    for index, entry in enumerate(settings.build.test_commands):
        path = f"build.test_commands[{index}]"
        if entry.service not in known:
            problems.append(f"{filename}: {path}.service: {entry.service!r} is not accepted; expected {accepted}")
        if entry.service in seen:
            problems.append(
                f"{filename}: {path}.service: {entry.service!r} already has a command in "
                f"build.test_commands[{seen[entry.service]}]; expected one per service"
            )
        seen.setdefault(entry.service, index)
        if not entry.command.strip():
            problems.append(f"{filename}: {path}.command: {entry.command!r} is not accepted; expected a shell command")
    for index, check in enumerate(settings.integration_tests):
        path = f"integration_tests[{index}]"
        if check.service not in known:
            problems.append(f"{filename}: {path}.service: {check.service!r} is not accepted; expected {accepted}")
        if check.body:
            try:
                json.loads(check.body)
            except ValueError:
                problems.append(f"{filename}: {path}.body: {check.body!r} is not accepted; expected a JSON document or empty")
    for key in ("shared_paths",):
        for index, value in enumerate(getattr(settings.build, key)):
            accepted_path = repository_path(value)
            if accepted_path:
                problems.append(f"{filename}: build.{key}[{index}]: {value!r} is not accepted; expected {accepted_path}")
    for index, value in enumerate(settings.infrastructure_paths):
        accepted_path = repository_path(value)
        if accepted_path:
            problems.append(f"{filename}: infrastructure_paths[{index}]: {value!r} is not accepted; expected {accepted_path}")
    return problems


def _check_targets(settings: PipelineSettings, parameters_dir: Path, filename: str) -> list[str]:
    problems = []
    targets = available_targets(parameters_dir)
    for key in ("staging_target", "production_target"):
        value = getattr(settings, key)
        if value not in targets:
            problems.append(
                f"{filename}: {key}: {value!r} is not accepted; {did_you_mean(value, targets)}expected an environment target: "
                + (", ".join(targets) or "none")
            )
        # The deploy role reaches <project>-<target>-*: another target named <target>-... would be inside it.
        inside = [t for t in targets if t.startswith(f"{value}-")]
        if inside:
            problems.append(
                f"{filename}: {key}: {value!r} is not accepted while {', '.join(inside)} exists: their resources share the name "
                f"prefix <project>-{value}-, which its deploy role may change; rename one"
            )
    if settings.staging_target == settings.production_target:
        problems.append(
            f"{filename}: production_target: {settings.production_target!r} is also the staging_target; expected two different environments"
        )
    return problems


# --- public API ---------------------------------------------------------------


def has_pipeline(parameters_dir: Path) -> bool:
    return (Path(parameters_dir) / PIPELINE_FILE).is_file()


def load_settings(parameters_dir: Path, project: Project | None) -> PipelineSettings:
    def checks(settings: PipelineSettings, filename: str) -> list[str]:
        problems = _check_source(settings.source, filename)
        problems += _check_targets(settings, parameters_dir, filename)
        problems += check_subscriptions(settings.notifications.subscriptions, filename, "notifications.subscriptions")
        problems += _check_replication_region(settings.ecr, filename)
        if project is None:  # project.yaml's own problems are reported beside these
            return problems
        problems += _check_services(settings, project, filename)
        paths = trigger_paths(PipelineConfig(project=project, pipeline=settings))
        if len(paths) > MAX_TRIGGER_PATHS:
            problems.append(
                f"{filename}: infrastructure_paths: the services and infrastructure need {len(paths)} trigger patterns; "
                f"expected at most {MAX_TRIGGER_PATHS} (3 push filters of 8): list fewer, broader paths"
            )
        return problems

    return load_file(Path(parameters_dir) / PIPELINE_FILE, PipelineSettings, checks)


def load_pipeline(parameters_dir: Path) -> PipelineConfig:
    """Load and validate project.yaml and pipeline.yaml; raise ConfigError listing every problem."""
    check_parameters_dir(parameters_dir)
    problems: list[str] = []
    project = None
    try:
        project = load_project(parameters_dir)
    except ConfigError as error:
        problems += error.problems
    try:
        settings = load_settings(parameters_dir, project)
    except ConfigError as error:
        problems += error.problems
    if problems:
        raise ConfigError(problems)
    environments = []
    for target in available_targets(Path(parameters_dir)):
        try:
            environments.append(load(Path(parameters_dir), target))
        except ConfigError as error:
            problems += error.problems
    problems += _check_release_times(settings, environments, Path(parameters_dir))
    if problems:
        raise ConfigError(problems)
    return PipelineConfig(project=project, pipeline=settings, environments=tuple(environments))


def _check_release_times(settings: PipelineSettings, environments: list[Config], parameters_dir: Path) -> list[str]:
    """A release step CodeBuild stops before the release ends reports a failure while the stack carries on."""
    problems = []
    for environment in environments:
        if environment.target in (settings.staging_target, settings.production_target):
            needed = release_minutes(environment)
            if needed > CODEBUILD_MAX_TIMEOUT_MINUTES:
                problems.append(
                    f"{parameters_dir / (environment.target + '.yaml')}: services.bake_time_minutes: "
                    f"{environment.environment.services.bake_time_minutes} makes a release (and its rollback) take up to "
                    f"{needed} minutes, longer than the pipeline's release step may wait ({CODEBUILD_MAX_TIMEOUT_MINUTES}, "
                    "CodeBuild's limit); expected a shorter bake time"
                )
    return problems
