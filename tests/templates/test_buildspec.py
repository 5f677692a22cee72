"""Buildspecs from the configuration, and the scripts they call (pipeline/)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from pipeline import integration_test, source_hash
from templates import names
from templates.stacks.pipeline import buildspec
from tests.conftest import REPO
from tests.templates.test_pipeline_config import APPS

OTHER_LAYOUT = {
    "project": {"services": APPS},
    "pipeline": {"build": {"shared_paths": ["libs/kit"], "test_commands": []}, "integration_tests": []},
}


@pytest.fixture
def cfg(make_pipeline_config):
    return make_pipeline_config()


def spec_for(cfg, index: int = 0) -> dict:
    service = cfg.project.services[index]
    return buildspec.service(cfg, service, names.ecr_repository_name(cfg.project.name, service.name))


def commands(spec: dict) -> str:
    return "\n".join(c for phase in spec["phases"].values() for c in phase.get("commands", []))


def test_service_buildspec_follows_the_services_paths(cfg):
    spec = spec_for(cfg)
    assert spec["version"] == 0.2
    assert spec["env"]["variables"] == {
        "SERVICE_NAME": "api-service",
        "REPOSITORY_NAME": "shop/api-service",
        "DOCKERFILE": "services/api-service/Dockerfile",
        "BUILD_CONTEXT": "services",
    }
    text = commands(spec)
    assert "python pipeline/source_hash.py services/api-service services/api-service/Dockerfile services/common" in text
    assert "docker build -f services/api-service/Dockerfile" in text and '-t "$REPOSITORY_URI:$SOURCE_TAG" services\n' in text
    assert "python -m pytest services/api-service services/common" in text  # pipeline.yaml's override


def test_another_layout_renders_without_code_changes(make_pipeline_config):
    cfg = make_pipeline_config(**OTHER_LAYOUT)
    for index, name in enumerate(("one", "two", "three", "four", "five")):
        spec = spec_for(cfg, index)
        text = commands(spec)
        assert spec["env"]["variables"]["DOCKERFILE"] == f"apps/{name}/build/Containerfile"
        assert spec["env"]["variables"]["BUILD_CONTEXT"] == f"apps/{name}"
        assert f"python pipeline/source_hash.py apps/{name} apps/{name}/build/Containerfile libs/kit" in text
        assert f"( cd . && python -m pytest apps/{name} || [ $? -eq 5 ] )" in text
        assert f"docker build -f apps/{name}/build/Containerfile" in text and "services" not in text


def test_unchanged_sources_are_retagged_not_rebuilt(cfg):
    block = buildspec.retag_or_build(cfg, cfg.project.services[0])
    retag = block.index('imageTag="$SOURCE_TAG"')
    build = block.index("docker build")
    assert retag < build  # the look-up comes first
    assert "aws ecr batch-get-image" in block and "aws ecr put-image" in block and '--image-tag "$IMAGE_TAG"' in block
    assert '-t "$REPOSITORY_URI:$IMAGE_TAG" -t "$REPOSITORY_URI:$SOURCE_TAG"' in block  # a build pushes both tags
    pre_build = spec_for(cfg)["phases"]["pre_build"]["commands"]
    assert pre_build[0] == 'IMAGE_TAG="${IMAGE_TAG:-$CODEBUILD_RESOLVED_SOURCE_VERSION}"'
    assert pre_build[1].startswith('SOURCE_TAG="src-$(')


def test_the_build_block_is_valid_bash(cfg, make_pipeline_config):
    for config in (cfg, make_pipeline_config(**OTHER_LAYOUT)):
        for service in config.project.services:
            result = subprocess.run(
                ["bash", "-n"], input=buildspec.retag_or_build(config, service), text=True, capture_output=True, check=False
            )
            assert result.returncode == 0, result.stderr


def test_yaml_round_trips_with_literal_blocks(cfg):
    spec = spec_for(cfg)
    text = buildspec.to_yaml(spec)
    assert yaml.safe_load(text) == spec
    assert "- |" in text  # the shell block reads as written


@pytest.mark.parametrize(
    "mode, expected",
    [
        (buildspec.DEPLOY, '--role-arn "$DEPLOY_ROLE_ARN" --yes --confirm "$DEPLOY_TARGET"'),
        (buildspec.PLAN, '--role-arn "$DEPLOY_ROLE_ARN" --plan --change-set-name release --json plan.json'),
        (buildspec.EXECUTE, '--execute-change-set release --yes --confirm "$DEPLOY_TARGET"'),
    ],
)
def test_deploy_buildspecs_run_deploy_py_itself(cfg, mode, expected):
    spec = buildspec.deploy(cfg, mode, "release")
    assert f'python deploy.py --env "$DEPLOY_TARGET" --image-tag "$IMAGE_TAG" {expected}' in commands(spec)
    assert spec.get("artifacts") == ({"files": ["plan.json"]} if mode == buildspec.PLAN else None)


def test_integration_checks_cover_every_service_health_and_its_real_request(cfg):
    checks = buildspec.integration_checks(cfg)
    health = [c for c in checks if c.get("health")]
    assert [c["path"] for c in health] == ["/api/health", "/auth/health", "/notification/health"]
    real = {c["service"]: c for c in checks if not c.get("health")}
    assert set(real) == {"api-service", "auth-service", "notification-service"}
    assert real["auth-service"]["body"] == {"subject": "pipeline-integration-test"}
    assert real["notification-service"]["expect_status"] == 202
    spec = buildspec.integration_test(cfg)
    assert json.loads(spec["env"]["variables"]["INTEGRATION_CHECKS"]) == {"checks": checks}
    assert 'python pipeline/integration_test.py "$BASE_URL"' in commands(spec)


# --- pipeline/source_hash.py ----------------------------------------------------------


def test_source_hash_is_stable_and_changes_with_content_and_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "app.py").write_text("print(1)\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    first = source_hash.source_hash(["svc", "Dockerfile"])
    assert first == source_hash.source_hash(["Dockerfile", "svc"]) and len(first) == 32
    (tmp_path / "svc" / "__pycache__").mkdir()
    (tmp_path / "svc" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    assert source_hash.source_hash(["svc", "Dockerfile"]) == first  # caches do not count
    (tmp_path / "svc" / "app.py").write_text("print(2)\n")
    changed = source_hash.source_hash(["svc", "Dockerfile"])
    assert changed != first
    (tmp_path / "svc" / "app.py").rename(tmp_path / "svc" / "main.py")
    assert source_hash.source_hash(["svc", "Dockerfile"]) not in (first, changed)


def test_source_hash_refuses_a_missing_path(tmp_path, capsys):
    assert source_hash.main([str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_source_hash_runs_over_the_repositorys_services():
    result = subprocess.run(
        [sys.executable, "pipeline/source_hash.py", "services/api-service", "services/api-service/Dockerfile", "services/common"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert len(result.stdout.strip()) == 32


# --- pipeline/integration_test.py -----------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status: int, body: dict | str):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        routes = {
            "/api/health": (200, {"status": "ok", "service": "api-service"}),
            "/auth/health": (200, {"status": "ok", "service": "api-service"}),  # the wrong service
            "/notification/health": (200, "not json"),
            "/api/items": (200, {"items": []}),
        }
        self.answer(*routes.get(self.path, (404, {"error": "not found"})))

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.answer(202 if body.get("recipient") else 400, {"id": "1"})


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def check(service, path, method="GET", status=200, health=False, body=None):
    entry = {"service": service, "method": method, "path": path, "expect_status": status, "health": health}
    return entry if body is None else dict(entry, body=body)


def test_integration_test_passes_and_fails_with_a_reason_per_check(server):
    checks = [
        check("api-service", "/api/health", health=True),
        check("auth-service", "/auth/health", health=True),
        check("notification-service", "/notification/health", health=True),
        check("api-service", "/api/items"),
        check("notification-service", "/notification/messages", "POST", 202, body={"recipient": "a@b.co"}),
        check("api-service", "/api/missing"),
    ]
    results = integration_test.run(server, checks, attempts=1, delay=0)
    errors = [r.error for r in results]
    assert errors[0] is None and errors[3] is None and errors[4] is None
    assert "answered by 'api-service'" in errors[1]
    assert "not JSON" in errors[2]
    assert errors[5] == "status 404, expected 200"


def test_integration_test_reports_a_refused_connection():
    results = integration_test.run("http://127.0.0.1:1", [check("api-service", "/api/health", health=True)], attempts=1, delay=0, timeout=2)
    assert results[0].error.startswith("connection failed")


def test_integration_test_exit_status(server, capsys):
    ok = json.dumps({"checks": [check("api-service", "/api/health", health=True)]})
    assert integration_test.main([server, "--checks", ok, "--attempts", "1"]) == 0
    bad = json.dumps({"checks": [check("api-service", "/api/missing")]})
    assert integration_test.main([server, "--checks", bad, "--attempts", "1", "--delay", "0"]) == 1
    out = capsys.readouterr().out
    assert "api-service: GET" in out and "FAILED: status 404" in out and "0 of 1 checks passed" in out
