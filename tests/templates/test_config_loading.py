"""Faults in the parameter files themselves: each one line naming the file and line or key, never a traceback."""

from __future__ import annotations

import dataclasses
import re
import shutil

import pytest
import yaml

import build
from templates import config as config_module
from templates.config import model
from templates.config import pipeline as pipeline_config
from tests.conftest import SAMPLE


@pytest.fixture
def parameters(tmp_path):
    """A copy of the repository's parameters/ to spoil one file of."""
    directory = tmp_path / "parameters"
    shutil.copytree(SAMPLE, directory)
    return directory


def problems_of(call, *args) -> list[str]:
    with pytest.raises(config_module.ConfigError) as raised:
        call(*args)
    assert all("\n" not in line for line in raised.value.problems)
    return raised.value.problems


@pytest.mark.parametrize(
    "text, key, first, again",
    [
        ("protected: true\nnetwork:\n  az_count: 3\nprotected: false\n", "protected", 1, 4),
        ("protected: true\nnetwork:\n  az_count: 3\n  nat_mode: none\n  az_count: 2\n", "az_count", 3, 5),
    ],
    ids=["top level", "nested"],
)
def test_a_repeated_key_is_an_error_naming_both_lines(parameters, text, key, first, again):
    (parameters / "production.yaml").write_text(text)
    [line] = problems_of(config_module.load, parameters, "production")
    assert line == (
        f"{parameters / 'production.yaml'}: line {again}: key {key!r} repeats the one at line {first}; expected each key once in a mapping"
    )


def test_a_merge_key_may_be_overridden_on_purpose(parameters):
    text = "protected: false\nbase: &base {retention_days: 7}\n"
    (parameters / "staging.yaml").write_text(text + "logs:\n  <<: *base\n  retention_days: 14\n")
    problems = problems_of(config_module.load, parameters, "staging")
    assert not any("repeats" in line for line in problems), problems  # only the unknown key 'base' is reported
    assert problems == [
        f"{parameters / 'staging.yaml'}: base: 'base' is not accepted; expected one of the keys "
        + ", ".join(f.name for f in dataclasses.fields(model.Environment))
    ]


@pytest.mark.parametrize("text", ["", "\n\n", "# production: fill in later\n", "---\n"], ids=["empty", "blank", "comments", "bare ---"])
def test_an_empty_target_file_is_refused(parameters, text):
    (parameters / "production.yaml").write_text(text)
    [line] = problems_of(config_module.load, parameters, "production")
    assert line.startswith(f"{parameters / 'production.yaml'}: the file is empty; expected its settings")


def test_an_explicit_empty_mapping_takes_every_default(parameters):
    (parameters / "staging.yaml").write_text("{}\n")
    assert config_module.load(parameters, "staging").environment == model.Environment()


def test_a_non_utf8_file_is_one_line_naming_the_line(parameters, capsys):
    (parameters / "staging.yaml").write_bytes("protected: false\n# caf\u00e9 in Latin-1\n".encode("latin-1"))
    assert build.main(["--parameters", str(parameters), "--env", "staging", "--no-lint"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "configuration error:\n"
        f"  {parameters / 'staging.yaml'}: line 2: byte 0xe9 is not UTF-8 text; expected a UTF-8 file (re-save it as UTF-8)\n"
    )


@pytest.mark.parametrize("make, reason", [(None, "no such directory"), ("file", "is not a directory"), ("empty", "holds no project.yaml")])
def test_a_missing_parameters_directory_is_an_error_and_build_exits_2(tmp_path, capsys, make, reason):
    directory = tmp_path / "nowhere"
    if make == "file":
        directory.write_text("")
    elif make == "empty":
        directory.mkdir()
    assert build.main(["--parameters", str(directory), "--output", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "configuration error:\n"
        f"  {directory}: {reason}; expected the parameters directory, holding project.yaml and one <target>.yaml per environment\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("loader", [lambda d: config_module.load(d, "staging"), config_module.load_project, pipeline_config.load_pipeline])
def test_every_loader_refuses_a_missing_directory_once(tmp_path, loader):
    [line] = problems_of(loader, tmp_path / "nowhere")
    assert line.startswith(f"{tmp_path / 'nowhere'}: no such directory;")


@pytest.mark.parametrize(
    "file, text, expected",
    [
        (
            "staging.yaml",
            "protected: false\nnetwork:\n  natmode: single\n",
            "network.natmode: 'natmode' is not accepted; did you mean 'nat_mode'? expected one of the keys vpc_cidr, ",
        ),
        (
            "staging.yaml",
            "protected: false\nnetwork:\n  nat_mode: per_az\n",
            "network.nat_mode: 'per_az' is not accepted; did you mean 'per-az'? expected one of 'none', 'single', 'per-az'",
        ),
        ("staging.yaml", "protectd: false\n", "protectd: 'protectd' is not accepted; did you mean 'protected'? expected one of the keys"),
        ("project.yaml", "name: shop\nservice: []\n", "service: 'service' is not accepted; did you mean 'services'? expected"),
    ],
    ids=["nested key", "enumerated value", "top-level key", "project key"],
)
def test_a_near_miss_gets_did_you_mean(parameters, file, text, expected):
    (parameters / file).write_text(text)
    problems = problems_of(config_module.load, parameters, "staging")
    assert any(line.startswith(f"{parameters / file}: {expected}") for line in problems), problems


def test_an_unrelated_key_gets_no_guess(parameters):
    (parameters / "staging.yaml").write_text("protected: false\nbudget_usd: 3\n")
    [line] = problems_of(config_module.load, parameters, "staging")
    assert "did you mean" not in line and "'budget_usd' is not accepted; expected one of the keys protected, " in line


def test_an_unknown_target_gets_did_you_mean_and_the_known_ones(parameters):
    [line] = problems_of(config_module.load, parameters, "stagin")
    assert line == (
        f"{parameters / 'stagin.yaml'}: no such target 'stagin'; did you mean 'staging'? "
        "expected one of: dev, production, staging, or pipeline"
    )


def test_an_unknown_pipeline_stage_target_gets_did_you_mean(write_pipeline_parameters):
    directory = write_pipeline_parameters(pipeline={"production_target": "prod"})
    problems = problems_of(pipeline_config.load_pipeline, directory)
    assert any(
        re.search(r"production_target: 'prod' is not accepted; did you mean 'production'\? expected an environment target", line)
        for line in problems
    ), problems


def test_two_documents_in_one_file_are_refused_with_the_reason(parameters):
    (parameters / "staging.yaml").write_text("protected: false\n---\nprotected: true\n")
    [line] = problems_of(config_module.load, parameters, "staging")
    assert line == (
        f"{parameters / 'staging.yaml'}: line 2: not valid YAML (expected a single document in the stream, but found another document)"
    )


ALIAS_BOMB = "\n".join(
    ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]'] + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"protected: false\x00\n", "not valid YAML (special characters are not allowed); expected printable UTF-8 text"),
        (("x: " + "[" * 5000 + "]" * 5000 + "\n").encode(), "nested too deeply to read"),
        ((ALIAS_BOMB + "\nprotected: false\n").encode(), "its aliases expand to more than 100000 values"),
        (b"protected: false\n# " + b"x" * (1024 * 1024) + b"\n", "expected a parameter file of at most 1048576 bytes"),
    ],
    ids=["NUL byte", "deep nesting", "alias expansion", "a file too large"],
)
def test_a_file_no_settings_file_is_refused_in_one_line_without_reading_it_all(parameters, content, expected):
    (parameters / "staging.yaml").write_bytes(content)
    [line] = problems_of(config_module.load, parameters, "staging")
    assert line.startswith(f"{parameters / 'staging.yaml'}: ") and expected in line and len(line) < 300


def test_more_subscriptions_than_a_template_holds_are_refused(parameters):
    settings = {"notifications": {"subscriptions": [{"protocol": "email", "endpoint": f"a{i}@corp.io"} for i in range(101)]}}
    (parameters / "staging.yaml").write_text(yaml.safe_dump(settings))
    [line] = problems_of(config_module.load, parameters, "staging")
    assert "notifications.subscriptions: 101 subscriptions; expected at most 100" in line


def test_a_project_past_a_cloudformation_quota_is_a_configuration_error_naming_its_services(parameters):
    from templates.render import render

    project = {"name": "shop", "services": [{"name": f"svc-{i:02d}", "route_path": f"/s{i}"} for i in range(65)]}
    (parameters / "project.yaml").write_text(yaml.safe_dump(project))
    [line] = problems_of(render, config_module.load(parameters, "production"))
    assert line.startswith("production: a template would pass a CloudFormation quota (Maximum parameters 200 reached)")
    assert "project.yaml's services (65 here)" in line
