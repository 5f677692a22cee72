"""CodeBuild buildspecs, generated from the configuration: pure functions, no I/O.

Nothing here knows where a service lives: paths, Dockerfile, build context and
test command come from ``project.yaml`` and ``pipeline.yaml``, so another
monorepo layout renders without a code change.

How a service image is built (``service``):

1. ``SOURCE_TAG`` is ``src-<hash>``, the content hash of everything the image is
   built from (the service's sources, its Dockerfile, the shared paths), from
   ``pipeline/source_hash.py``.  ``IMAGE_TAG`` is the commit.
2. The commit tag already exists: a re-run of the same commit; nothing to do.
3. An image tagged ``SOURCE_TAG`` exists: the sources did not change since it
   was built, so it is not rebuilt; its manifest gets the commit tag as well
   (``batch-get-image`` + ``put-image``: immutable tags forbid moving a tag,
   not adding one).  Every service therefore has an image for every commit.
4. Otherwise the unit tests run, and the image is built and pushed with both tags.
"""

from __future__ import annotations

import json
import shlex

import yaml

from templates import names
from templates.config.model import Service
from templates.config.pipeline import PipelineConfig, service_paths

VERSION = 0.2


def _install(config: PipelineConfig, *commands: str) -> dict:
    phase: dict = {"runtime-versions": {"python": config.pipeline.build.python_version}}
    if commands:
        phase["commands"] = list(commands)
    return phase


# pytest's exit status when it collected no tests: a service without Python tests is not a failure by default.
NO_TESTS_COLLECTED = 5


def test_step(config: PipelineConfig, service: Service) -> str:
    """The unit tests, in a subshell: a ``cd`` there leaves the following steps at the repository root."""
    q = shlex.quote
    tests = config.unit_tests(service)
    command = tests.command
    if not config.has_own_test_command(service):
        command = f"{command} || [ $? -eq {NO_TESTS_COLLECTED} ]"
    return f"( cd {q(tests.directory)} && {command} )"


def retag_or_build(config: PipelineConfig, service: Service) -> str:
    """The shell block behind steps 2 to 4 above; it stops at the first failing command.

    It runs in a subshell with ``set -eo pipefail`` (no ``-u``: a service's own test command may read unset
    variables) so a failure anywhere fails the CodeBuild phase
    (the phase fails when a command exits non-zero) without changing the shell the next commands run in.
    """
    q = shlex.quote
    describe = 'aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="{tag}" > /dev/null 2>&1'
    lookup = 'aws ecr batch-get-image --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$SOURCE_TAG"'
    lines = [
        "(",
        "set -eo pipefail",
        f"if {describe.format(tag='$IMAGE_TAG')}; then",
        '  echo "$REPOSITORY_NAME:$IMAGE_TAG exists already: a re-run of this commit"',
        f"elif {describe.format(tag='$SOURCE_TAG')}; then",
        '  echo "sources unchanged since $SOURCE_TAG: adding the tag $IMAGE_TAG to that image, no rebuild"',
        f"  MANIFEST=$({lookup} --query 'images[0].imageManifest' --output text)",
        f"  MEDIA_TYPE=$({lookup} --query 'images[0].imageManifestMediaType' --output text)",
        '  if [ -z "$MANIFEST" ] || [ "$MANIFEST" = None ]; then echo "cannot read $REPOSITORY_NAME:$SOURCE_TAG" >&2; exit 1; fi',
        '  aws ecr put-image --repository-name "$REPOSITORY_NAME" --image-tag "$IMAGE_TAG" '
        '--image-manifest "$MANIFEST" --image-manifest-media-type "$MEDIA_TYPE" > /dev/null',
        "else",
        f"  {test_step(config, service)}",
        f'  docker build -f {q(service.dockerfile_path)} --build-arg VERSION="$IMAGE_TAG" '
        f'-t "$REPOSITORY_URI:$IMAGE_TAG" -t "$REPOSITORY_URI:$SOURCE_TAG" {q(service.context_dir)}',
        '  docker push "$REPOSITORY_URI:$IMAGE_TAG"',
        "  # Another run may have pushed the same sources meanwhile (tags are immutable): fine if the tag is there now.",
        f'  docker push "$REPOSITORY_URI:$SOURCE_TAG" || {describe.format(tag="$SOURCE_TAG")}',
        "fi",
        ")",
    ]
    return "\n".join(lines) + "\n"


def service(config: PipelineConfig, service_: Service, repository_name: str) -> dict:
    """Test, build and push one service's image, or re-tag the unchanged one with the commit."""
    hash_paths = " ".join(shlex.quote(p) for p in service_paths(config, service_))
    return {
        "version": VERSION,
        "env": {
            "shell": "bash",
            "variables": {
                "SERVICE_NAME": service_.name,
                "REPOSITORY_NAME": repository_name,
                "DOCKERFILE": service_.dockerfile_path,
                "BUILD_CONTEXT": service_.context_dir,
            },
        },
        "phases": {
            "install": _install(config, "python -m pip install --quiet pytest"),
            "pre_build": {
                "commands": [
                    'IMAGE_TAG="${IMAGE_TAG:-$CODEBUILD_RESOLVED_SOURCE_VERSION}"',
                    f'SOURCE_TAG="src-$(python pipeline/source_hash.py {hash_paths})"',
                    'REPOSITORY_URI=$(aws ecr describe-repositories --repository-names "$REPOSITORY_NAME" '
                    "--query 'repositories[0].repositoryUri' --output text)",
                    'aws ecr get-login-password | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"',
                    'echo "$SERVICE_NAME: commit $IMAGE_TAG, sources $SOURCE_TAG"',
                ]
            },
            "build": {"commands": [retag_or_build(config, service_)]},
        },
    }


# The three ways the pipeline runs deploy.py (its --role-arn, --plan, --execute-change-set contract).
DEPLOY, PLAN, EXECUTE = "deploy", "plan", "execute"
PLAN_FILE = "plan.json"
# What the deploy and plan steps export to the pipeline (CodeBuild exported-variables, read as #{Namespace.NAME}).
PUBLIC_URL_VARIABLE = "PUBLIC_URL"
PLAN_URL_VARIABLE = "PLAN_URL"


def deploy_command(mode: str, change_set: str) -> str:
    """deploy.py for DEPLOY_TARGET with the target's CloudFormation role; protected targets are confirmed by name."""
    base = 'python deploy.py --env "$DEPLOY_TARGET" --image-tag "$IMAGE_TAG"'
    confirm = '--yes --confirm "$DEPLOY_TARGET"'
    if mode == DEPLOY:
        return f'{base} --role-arn "$DEPLOY_ROLE_ARN" {confirm}'
    if mode == PLAN:
        return f'{base} --role-arn "$DEPLOY_ROLE_ARN" --plan --change-set-name {change_set} --json {PLAN_FILE}'
    return f"{base} --execute-change-set {change_set} {confirm}"


def deploy(config: PipelineConfig, mode: str, change_set: str) -> dict:
    """Deploy, plan or execute one environment through deploy.py: the same packaging, stack policies,
    termination protection and deploy record as a deploy from a laptop."""
    commands = ['IMAGE_TAG="${IMAGE_TAG:-$CODEBUILD_RESOLVED_SOURCE_VERSION}"', deploy_command(mode, change_set)]
    exported = []
    if mode == DEPLOY:  # the integration tests run against the URL the stack outputs
        exported = [PUBLIC_URL_VARIABLE]
        commands.append(
            f'{PUBLIC_URL_VARIABLE}=$(aws cloudformation describe-stacks --stack-name "$STACK_NAME" '
            f"--query \"Stacks[0].Outputs[?OutputKey=='{names.PUBLIC_URL}'].OutputValue\" --output text)"
        )
    if mode == PLAN:  # the approver's link: this build's log, which holds the per-nested-stack table
        exported = [PLAN_URL_VARIABLE]
        commands.append(
            f'{PLAN_URL_VARIABLE}="https://$AWS_REGION.console.aws.amazon.com/codesuite/codebuild/'
            '$(echo "$CODEBUILD_BUILD_ARN" | cut -d: -f5)/projects/${CODEBUILD_BUILD_ID%%:*}/build/'
            '${CODEBUILD_BUILD_ID/:/%3A}/log?region=$AWS_REGION"'
        )
    spec: dict = {
        "version": VERSION,
        "env": {"shell": "bash", **({"exported-variables": exported} if exported else {})},
        "phases": {"install": _install(config, "python -m pip install --quiet -r requirements.txt"), "build": {"commands": commands}},
    }
    if mode == PLAN:
        spec["artifacts"] = {"files": [PLAN_FILE]}
    return spec


def integration_checks(config: PipelineConfig) -> list[dict]:
    """Per service: its health through the ALB, then its real requests from pipeline.yaml."""
    checks = []
    for s in config.project.services:
        checks.append(
            {"service": s.name, "method": "GET", "path": f"{s.route_path}{s.health_check_path}", "expect_status": 200, "health": True}
        )
        for check in config.integration_checks(s):
            entry = {"service": s.name, "method": check.method, "path": check.path, "expect_status": check.expect_status}
            if check.body:
                entry["body"] = json.loads(check.body)
            checks.append(entry)
    return checks


def integration_test(config: PipelineConfig) -> dict:
    """pipeline/integration_test.py against staging's public URL (BASE_URL, from the deploy action's outputs)."""
    return {
        "version": VERSION,
        "env": {"shell": "bash", "variables": {"INTEGRATION_CHECKS": json.dumps({"checks": integration_checks(config)}, sort_keys=True)}},
        "phases": {
            "install": _install(config),
            "build": {"commands": ['python pipeline/integration_test.py "$BASE_URL" --checks "$INTEGRATION_CHECKS"']},
        },
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so the shell reads as written."""


def _str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(spec: dict) -> str:
    return yaml.dump(spec, Dumper=_Dumper, sort_keys=False, width=1000, default_flow_style=False)
