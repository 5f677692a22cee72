"""deploy.py reads the parameter files with build.py's loader: the same one-line errors, exit 2, no AWS call."""

from __future__ import annotations

import shutil

import pytest
from deploy_helpers import FIXTURES, make_context, stubbed

import deploy
from deployer.aws import Aws


def untouchable_aws() -> Aws:
    """Clients that fail the test on any call: parameter-file faults must be found before AWS."""
    return Aws(clients={name: stubbed(name)[0] for name in ("cloudformation", "s3", "ecr")})


def run(parameters, *extra) -> int:
    ctx = make_context(untouchable_aws(), interactive=False)
    return deploy.main(["--image-tag", "v1", "--yes", "--parameters-dir", str(parameters), *extra], ctx, project_dir=FIXTURES)


@pytest.mark.parametrize("command", [["--env", "staging"], ["--bootstrap"]], ids=["deploy", "bootstrap"])
def test_a_missing_parameters_directory_exits_2(tmp_path, capsys, command):
    assert run(tmp_path / "nowhere", *command) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'nowhere'}: no such directory; "
        "expected the parameters directory, holding project.yaml and one <target>.yaml per environment\n"
    )


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"protected: true\nprotected: false\n", "line 2: key 'protected' repeats the one at line 1"),
        (b"", "the file is empty"),
        (b"protected: true\n# \xff\n", "line 2: byte 0xff is not UTF-8 text"),
    ],
    ids=["repeated key", "empty", "not UTF-8"],
)
def test_a_faulty_target_file_is_one_line_and_exits_2(tmp_path, capsys, content, expected):
    parameters = tmp_path / "parameters"
    shutil.copytree(FIXTURES / "parameters", parameters)
    (parameters / "production.yaml").write_bytes(content)
    assert run(parameters, "--env", "production") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {parameters / 'production.yaml'}: {expected}") and err.count("\n") == 1, err


def test_an_unknown_target_gets_did_you_mean(capsys):
    assert run(FIXTURES / "parameters", "--env", "prod") == 2
    assert "no such target 'prod'; did you mean 'production'? expected one of: production, staging" in capsys.readouterr().err
