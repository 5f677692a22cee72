"""pipeline.yaml: defaults, the derived trigger paths, and one clear line per problem."""

from __future__ import annotations

import re

import pytest
import yaml

from templates.config import pipeline as pipeline_config
from templates.config.reader import ConfigError
from tests.conftest import SAMPLE, make_services

APPS = [
    {"name": f"app-{n}", "route_path": f"/{n}", "source_path": f"apps/{n}", "dockerfile": f"apps/{n}/build/Containerfile"}
    for n in ("one", "two", "three", "four", "five")
]


def test_the_repository_file_loads():
    cfg = pipeline_config.load_pipeline(SAMPLE)
    assert cfg.target == "pipeline" and cfg.stack_prefix == "shop-pipeline"
    assert cfg.pipeline.source.provider == "codestar" and cfg.pipeline.source.branch == "main"
    assert (cfg.pipeline.staging_target, cfg.pipeline.production_target) == ("staging", "production")
    assert cfg.pipeline.source.connection_id == "a1b2c3d4-e5f6-47a8-b9c0-d1e2f3a4b5c6"


def test_defaults_fill_omitted_keys(write_pipeline_parameters):
    directory = write_pipeline_parameters()
    connection = pipeline_config.load_pipeline(SAMPLE).pipeline.source.connection_arn
    (directory / "pipeline.yaml").write_text(f"source:\n  connection_arn: {connection}\n  repository: org/shop\n")
    settings = pipeline_config.load_pipeline(directory).pipeline
    assert settings.ecr == pipeline_config.Ecr() and settings.approval.timeout_minutes == 1440
    assert settings.infrastructure_paths == pipeline_config.INFRASTRUCTURE_PATHS
    assert settings.notifications.subscriptions == () and settings.protected is True


def test_config_is_frozen():
    cfg = pipeline_config.load_pipeline(SAMPLE)
    with pytest.raises(AttributeError):
        cfg.pipeline.approval.timeout_minutes = 5


def test_test_command_defaults_to_pytest_over_the_source_path_and_can_be_overridden(make_pipeline_config):
    cfg = make_pipeline_config(pipeline={"build": {"test_commands": [{"service": "auth-service", "command": "make test"}]}})
    api, auth = cfg.project.services[:2]
    assert cfg.test_command(api) == "python -m pytest services/api-service"
    assert cfg.test_command(auth) == "make test"


def test_trigger_paths_cover_every_service_and_the_infrastructure(make_pipeline_config):
    cfg = make_pipeline_config()
    paths = pipeline_config.trigger_paths(cfg)
    assert "services/**" in paths  # the default layout's build context covers every service
    assert {"templates/**", "parameters/**", "lambda/**", "deploy.py", "deployer/**", "build.py", "requirements*.txt"} <= set(paths)


def test_trigger_paths_follow_another_layout(make_pipeline_config):
    cfg = make_pipeline_config(
        project={"services": APPS}, pipeline={"build": {"shared_paths": ["libs/kit"], "test_commands": []}, "integration_tests": []}
    )
    paths = pipeline_config.trigger_paths(cfg)
    assert {f"apps/{n}/**" for n in ("one", "two", "three", "four", "five")} <= set(paths)
    assert "libs/kit/**" in paths and "services/**" not in paths
    assert "apps/one/build/Containerfile" not in paths  # inside apps/one/**, so not listed twice
    assert all(len(chunk) <= 8 for chunk in pipeline_config.path_filters(cfg)) and len(pipeline_config.path_filters(cfg)) <= 3


def test_many_services_collapse_to_their_top_directory(make_pipeline_config):
    services = [{"name": f"svc-{i:02d}", "route_path": f"/svc-{i:02d}", "source_path": f"apps/svc-{i:02d}"} for i in range(30)]
    cfg = make_pipeline_config(
        project={"services": services}, pipeline={"build": {"shared_paths": [], "test_commands": []}, "integration_tests": []}
    )
    paths = pipeline_config.trigger_paths(cfg)
    assert "apps/**" in paths and len(paths) <= pipeline_config.MAX_TRIGGER_PATHS


BAD_INPUTS = [
    # (what is wrong, pipeline override, key path, value shown, words of the accepted form)
    ("unknown key", {"aproval": {}}, "aproval", "'aproval'", "one of the keys"),
    ("bad provider", {"source": {"provider": "github"}}, "source.provider", "'github'", "'codestar', 'codecommit', 's3'"),
    ("bad connection", {"source": {"connection_arn": "my-connection"}}, "source.connection_arn", "'my-connection'", "connection/<uuid>"),
    ("missing connection", {"source": {"connection_arn": ""}}, "source.connection_arn", "missing", "provider is 'codestar'"),
    ("repository form", {"source": {"repository": "shop"}}, "source.repository", "'shop'", "owner/name"),
    (
        "connection with codecommit",
        {"source": {"provider": "codecommit", "repository": "shop"}},
        "source.connection_arn",
        "'arn:",
        "only with",
    ),
    (
        "s3 without key",
        {"source": {"provider": "s3", "repository": "src-bucket", "connection_arn": ""}},
        "source.object_key",
        "missing",
        "zip",
    ),
    ("bad branch", {"source": {"branch": "feature branch"}}, "source.branch", "'feature branch'", "a branch name"),
    ("approval too short", {"approval": {"timeout_minutes": 1}}, "approval.timeout_minutes", "1", "from 5 to 86400"),
    ("approval too long", {"approval": {"timeout_minutes": 90000}}, "approval.timeout_minutes", "90000", "from 5 to 86400"),
    ("keep count", {"ecr": {"keep_tagged_images": 0}}, "ecr.keep_tagged_images", "0", "from 1 to 1000"),
    ("untagged days type", {"ecr": {"untagged_expiry_days": "week"}}, "ecr.untagged_expiry_days", "'week'", "a int"),
    ("replication region", {"ecr": {"replication_region": "Europe"}}, "ecr.replication_region", "'Europe'", "an AWS region"),
    ("retention", {"logs": {"retention_days": 45}}, "logs.retention_days", "45", "one of 1, 3, 5"),
    ("compute type", {"build": {"compute_type": "HUGE"}}, "build.compute_type", "'HUGE'", "BUILD_GENERAL1_SMALL"),
    (
        "test for unknown service",
        {"build": {"test_commands": [{"service": "cart", "command": "x"}]}},
        "build.test_commands[0].service",
        "'cart'",
        "api-service",
    ),
    (
        "shared path escapes",
        {"build": {"shared_paths": ["../elsewhere"]}},
        "build.shared_paths[0]",
        "'../elsewhere'",
        "inside the repository",
    ),
    (
        "integration unknown service",
        {"integration_tests": [{"service": "cart", "path": "/cart"}]},
        "integration_tests[0].service",
        "'cart'",
        "api-service",
    ),
    (
        "integration body",
        {"integration_tests": [{"service": "api-service", "path": "/api", "body": "{nope"}]},
        "integration_tests[0].body",
        "'{nope'",
        "JSON",
    ),
    (
        "integration method",
        {"integration_tests": [{"service": "api-service", "path": "/api", "method": "FETCH"}]},
        "integration_tests[0].method",
        "'FETCH'",
        "'GET'",
    ),
    ("unknown staging", {"staging_target": "qa"}, "staging_target", "'qa'", "an environment target"),
    ("same environments", {"production_target": "staging"}, "production_target", "'staging' is also the staging_target", "two different"),
    ("execution mode", {"execution_mode": "PARALLEL"}, "execution_mode", "'PARALLEL'", "'SUPERSEDED', 'QUEUED'"),
    (
        "subscription endpoint",
        {"notifications": {"subscriptions": [{"protocol": "email", "endpoint": "not-an-address"}]}},
        "notifications.subscriptions[0].endpoint",
        "'not-an-address'",
        "an email address",
    ),
    (
        "subscription protocol",
        {"notifications": {"subscriptions": [{"protocol": "sms", "endpoint": "+100"}]}},
        "notifications.subscriptions[0].protocol",
        "'sms'",
        "email",
    ),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_each_problem_is_one_line_naming_file_key_value_and_what_is_accepted(write_pipeline_parameters, case):
    _, override, key_path, shown, accepted = case
    directory = write_pipeline_parameters(pipeline=override)
    with pytest.raises(ConfigError) as error:
        pipeline_config.load_pipeline(directory)
    lines = [p for p in error.value.problems if f": {key_path}:" in p]
    assert lines, error.value.problems
    line = lines[0]
    assert line.startswith(f"{directory / 'pipeline.yaml'}: {key_path}: "), line
    assert shown in line and accepted in line, line
    assert "\n" not in line


def test_every_problem_is_reported_at_once(write_pipeline_parameters):
    directory = write_pipeline_parameters(pipeline={"approval": {"timeout_minutes": 1}, "ecr": {"keep_tagged_images": 0}, "colour": "blue"})
    with pytest.raises(ConfigError) as error:
        pipeline_config.load_pipeline(directory)
    assert len(error.value.problems) == 3


def test_project_and_pipeline_problems_are_reported_together(write_pipeline_parameters):
    directory = write_pipeline_parameters(project={"services": [{"name": "api", "route_path": "/api", "cpu": 3}]}, pipeline={"colour": 1})
    with pytest.raises(ConfigError) as error:
        pipeline_config.load_pipeline(directory)
    assert any(re.search(r"project\.yaml: services\[0\]\.cpu", p) for p in error.value.problems)
    assert any("pipeline.yaml: colour" in p for p in error.value.problems)


def test_a_missing_or_broken_file_is_one_line(write_pipeline_parameters):
    directory = write_pipeline_parameters()
    (directory / "pipeline.yaml").write_text("source: [unclosed\n")
    with pytest.raises(ConfigError) as error:
        pipeline_config.load_pipeline(directory)
    assert len(error.value.problems) == 1 and "not valid YAML" in error.value.problems[0]


def test_thirty_services_load(make_pipeline_config):
    cfg = make_pipeline_config(project={"services": make_services(30)}, pipeline={"build": {"test_commands": []}, "integration_tests": []})
    assert len(cfg.project.services) == 30


def test_a_target_whose_name_prefix_holds_another_target_is_refused(write_pipeline_parameters):
    directory = write_pipeline_parameters()
    (directory / "staging-eu.yaml").write_text((directory / "staging.yaml").read_text())
    with pytest.raises(ConfigError) as error:
        pipeline_config.load_pipeline(directory)
    assert error.value.problems == [
        f"{directory / 'pipeline.yaml'}: staging_target: 'staging' is not accepted while staging-eu exists: their resources "
        "share the name prefix <project>-staging-, which its deploy role may change; rename one"
    ]


@pytest.mark.parametrize(("bake", "refused"), [(1000, False), (1050, True)])
def test_a_release_that_cannot_finish_within_codebuilds_limit_is_refused(write_pipeline_parameters, bake, refused):
    """Two deployments (a release and its rollback), each up to the hook's timeout and the bake time, must fit the
    36 hours CodeBuild lets the release step wait; production's bake of 1050 minutes does not."""
    directory = write_pipeline_parameters()
    production = yaml.safe_load((directory / "production.yaml").read_text())
    production["services"]["bake_time_minutes"] = bake
    (directory / "production.yaml").write_text(yaml.safe_dump(production))
    if not refused:
        assert pipeline_config.release_minutes(pipeline_config.load_pipeline(directory).environment("production")) <= 2160
        return
    with pytest.raises(ConfigError) as error:
        pipeline_config.load_pipeline(directory)
    [line] = error.value.problems
    assert line.startswith(f"{directory / 'production.yaml'}: services.bake_time_minutes: 1050 makes a release")
    assert "longer than the pipeline's release step may wait (2160, CodeBuild's limit)" in line


@pytest.mark.parametrize(("region", "refused"), [("eu-west-1", False), ("us-gov-west-1", False), ("eu-nowhere-9", True)])
def test_the_replication_region_is_one_ecr_serves(make_pipeline_config, region, refused):
    if not refused:
        assert make_pipeline_config(pipeline={"ecr": {"replication_region": region}}).pipeline.ecr.replication_region == region
        return
    with pytest.raises(ConfigError) as error:
        make_pipeline_config(pipeline={"ecr": {"replication_region": region}})
    [line] = error.value.problems
    assert "ecr.replication_region: 'eu-nowhere-9' is not accepted" in line and "a region ECR serves" in line
