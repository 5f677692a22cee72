"""Root stack parameters: computed by the deploy, given with --param, or defaulted.

:func:`plan` checks everything it can before any AWS call - unknown and
missing parameters, malformed ``--param``, values outside AllowedValues, a
missing image tag - and reports every problem at once.  The values that need
AWS (the assets bucket, the uploaded zips' keys, which images exist) are
filled in by :func:`resolve` afterwards.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from deployer.errors import UsageError
from templates import names
from templates.config.model import Config

IMAGE_MISSING = {"ImageNotFoundException", "RepositoryNotFoundException"}


@dataclass(frozen=True)
class ImageCheck:
    service: str
    parameter: str
    repository: str


# A tag the image builds can give and the task definition can name: Docker's grammar
# (https://docs.docker.com/engine/reference/commandline/image_tag/), within ECR's 300 (API ImageIdentifier).
IMAGE_TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Plan:
    given: dict[str, str]  # --param values and the image tag
    image_tag: str | None
    assets_bucket: bool  # the root declares names.ASSETS_BUCKET
    lambda_assets: dict[str, str]  # root parameter -> source directory, for those the root declares
    code_versions: dict[str, str]  # a lambda_assets parameter -> the one pinning its S3 version, where declared
    image_checks: tuple[ImageCheck, ...]
    keep_counts: dict[str, str]  # KeepDesiredCount parameter -> its service's Running parameter, unless given
    deploy_role: bool  # the root declares names.DEPLOY_ROLE_ARN: the --role-arn, or the one deployed before


def git_commit(directory: Path) -> str | None:
    """The checkout's full commit id - the tag the pipeline's builds give images - or None outside a git repository."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, check=False)
    except OSError:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    values: dict[str, str] = {}
    problems = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            problems.append(f"--param {pair!r}: expected KEY=VALUE")
        elif key in values:
            problems.append(f"--param {key}: given twice")
        else:
            values[key] = value
    return values, problems


def plan(template: dict, config: Config, overrides: list[str] | tuple[str, ...], image_tag: str | None, commit: str | None) -> Plan:
    declared: dict[str, dict] = template.get("Parameters", {})
    given, problems = parse_overrides(overrides)
    running = {
        names.service_running_parameter(service.logical_name): service
        for service in config.project.services
        if names.service_running_parameter(service.logical_name) in declared
    }
    keep_counts = {
        names.service_keep_count_parameter(service.logical_name): key
        for key, service in running.items()
        if names.service_keep_count_parameter(service.logical_name) in declared
    }
    lambda_assets = {key: path for key, path in names.LAMBDA_ASSETS.items() if key in declared}
    computed = {names.ASSETS_BUCKET: "the bootstrap stack's bucket", names.IMAGE_TAG: "--image-tag", names.DEPLOY_ROLE_ARN: "--role-arn"}
    computed.update({key: f"the uploaded {path} zip" for key, path in lambda_assets.items()})
    versions = {key: names.code_version_parameter(key) for key in lambda_assets if names.code_version_parameter(key) in declared}
    computed.update({version: f"the uploaded {lambda_assets[key]} zip's S3 version" for key, version in versions.items()})

    for key in sorted(given):
        if key not in declared:
            problems.append(
                f"--param {key}: {names.ROOT_TEMPLATE} declares no such parameter; it declares " + (", ".join(sorted(declared)) or "none")
            )
        elif key in computed:
            problems.append(f"--param {key}: set by deploy.py from {computed[key]}; do not pass it")

    needs_tag = names.IMAGE_TAG in declared or any(key not in given for key in running)
    tag = image_tag or (commit if needs_tag else None)
    if needs_tag and not tag:
        problems.append("no image tag: pass --image-tag TAG (the default, the git commit, needs a git checkout with a commit)")
    if tag and not IMAGE_TAG_PATTERN.fullmatch(tag):
        problems.append(
            f"--image-tag {tag[:60]!r}{'...' if len(tag) > 60 else ''}: not an image tag; expected up to 128 letters, digits, "
            "'_', '.' and '-', not starting with '.' or '-' (as docker build -t takes it, and the pipeline's commit ids are)"
        )
    if names.IMAGE_TAG in declared and tag:
        given[names.IMAGE_TAG] = tag

    for key, spec in sorted(declared.items()):
        if key in given or key in computed or key in running or key in keep_counts or "Default" in spec:
            continue
        problems.append(f"parameter {key} has no default in {names.ROOT_TEMPLATE}: pass --param {key}=VALUE")
    for key, value in sorted(given.items()):
        allowed = declared.get(key, {}).get("AllowedValues")
        if allowed is not None and value not in [str(a) for a in allowed]:
            problems.append(f"--param {key}={value}: expected one of {', '.join(map(str, allowed))}")
    if problems:
        raise UsageError("\n".join(problems))

    checks = tuple(
        ImageCheck(service.name, key, names.ecr_repository_name(config.project.name, service.name))
        for key, service in running.items()
        if key not in given
    )
    keeps = {keep: run for keep, run in keep_counts.items() if keep not in given}
    return Plan(given, tag, names.ASSETS_BUCKET in declared, lambda_assets, versions, checks, keeps, names.DEPLOY_ROLE_ARN in declared)


def image_exists(ecr, repository: str, tag: str) -> bool:
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in IMAGE_MISSING:
            return False
        raise
    return True


def check_images(ecr, plan_: Plan) -> dict[str, str]:
    """Running parameter -> "true"/"false"; also which services start with zero tasks."""
    return {check.parameter: "true" if image_exists(ecr, check.repository, plan_.image_tag) else "false" for check in plan_.image_checks}


def resolve(
    plan_: Plan, bucket: str, lambda_keys: dict[str, str], running: dict[str, str], previous: dict[str, str], role_arn: str | None = None
) -> dict[str, str]:
    """Every root parameter's value.  ``previous``: the deployed stack's parameters (empty when it is created);
    ``role_arn``: the CloudFormation service role of this deploy (a deploy without one keeps the role deployed before)."""
    values = dict(plan_.given)
    if plan_.deploy_role:
        values[names.DEPLOY_ROLE_ARN] = role_arn or previous.get(names.DEPLOY_ROLE_ARN, "")
    if plan_.assets_bucket:
        values[names.ASSETS_BUCKET] = bucket
    values.update(lambda_keys)
    values.update(running)
    for keep, run in plan_.keep_counts.items():
        # A service that ran before this release and runs after it keeps the count autoscaling gave it.
        values[keep] = "true" if previous.get(run) == "true" and values.get(run, "true") == "true" else "false"
    return dict(sorted(values.items()))
