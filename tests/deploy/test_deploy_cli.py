"""deploy.py as a user meets it: where it acts, what it refuses offline, its output and its result file."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from deploy_helpers import FIXTURES, REGION, make_context, stubbed

import deploy
from deployer.aws import Aws, resolve
from deployer.console import Console

ROOT = Path(__file__).resolve().parents[2]
PARAMETERS = str(FIXTURES / "parameters")


def untouchable_aws() -> Aws:
    """Clients with nothing queued: any AWS call fails the test, so refusals must come first."""
    return Aws(clients={name: stubbed(name)[0] for name in ("cloudformation", "s3", "ecr", "sts", "sqs")})


# --- 1. region and credentials ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, environ, profile_region, expected",
    [
        ("eu-north-1", {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"}, "eu-west-3", ("eu-north-1", "--region")),
        (None, {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"}, "eu-west-3", ("eu-west-1", "AWS_REGION")),
        (None, {"AWS_DEFAULT_REGION": "eu-west-2"}, "eu-west-3", ("eu-west-2", "AWS_DEFAULT_REGION")),
        (None, {"AWS_PROFILE": "dev"}, "eu-west-3", ("eu-west-3", "profile dev")),
        (None, {}, None, (None, "")),
    ],
)
def test_region_order_is_the_aws_cli_v2_one(flag, environ, profile_region, expected):
    where = resolve(flag, None, None, environ, lambda: profile_region)
    assert (where.region, where.region_source) == expected


def test_profile_and_endpoint_come_from_the_environment_unless_given():
    where = resolve(None, None, None, {"AWS_PROFILE": "dev", "AWS_ENDPOINT_URL": "http://e", "AWS_REGION": "us-east-1"}, lambda: None)
    assert (where.profile, where.endpoint_url) == ("dev", "http://e")
    where = resolve(
        None, "ops", "http://f", {"AWS_PROFILE": "dev", "AWS_ENDPOINT_URL": "http://e", "AWS_REGION": "us-east-1"}, lambda: None
    )
    assert (where.profile, where.endpoint_url) == ("ops", "http://f")


def clean_environment(monkeypatch, tmp_path, endpoint: str, **values: str) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def bootstrap_stacks(endpoint: str, region: str) -> list[str]:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    cfn = session.client("cloudformation", endpoint_url=endpoint)
    return [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]


def test_aws_region_wins_over_aws_default_region_and_every_run_says_where(moto_aws, moto_endpoint, monkeypatch, tmp_path, capsys):
    clean_environment(monkeypatch, tmp_path, moto_endpoint, AWS_REGION="eu-west-1", AWS_DEFAULT_REGION="us-east-1")
    assert deploy.main(["--bootstrap", "--yes", "--parameters", PARAMETERS]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (
        f"account 123456789012, region eu-west-1 (from AWS_REGION), endpoint {moto_endpoint}: target bootstrap, stack demo-bootstrap"
    )
    assert bootstrap_stacks(moto_endpoint, "eu-west-1") == ["demo-bootstrap"]
    assert bootstrap_stacks(moto_endpoint, "us-east-1") == []


def test_the_profile_region_is_used_last_and_named(moto_aws, moto_endpoint, monkeypatch, tmp_path, capsys):
    clean_environment(monkeypatch, tmp_path, moto_endpoint, AWS_PROFILE="dev")
    # A named profile takes its credentials from the files, not from AWS_ACCESS_KEY_ID (as the CLI does).
    (tmp_path / "config").write_text("[profile dev]\nregion = ap-southeast-2\naws_access_key_id = dev\naws_secret_access_key = dev\n")
    assert deploy.main(["--bootstrap", "--yes", "--parameters", PARAMETERS]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("account 123456789012, region ap-southeast-2 (from profile dev), profile dev, endpoint ")
    assert bootstrap_stacks(moto_endpoint, "ap-southeast-2") == ["demo-bootstrap"]


def test_the_region_flag_wins_over_everything(moto_aws, moto_endpoint, monkeypatch, tmp_path, capsys):
    clean_environment(monkeypatch, tmp_path, moto_endpoint, AWS_REGION="eu-west-1")
    assert deploy.main(["--bootstrap", "--yes", "--region", "eu-central-1", "--parameters", PARAMETERS]) == 0
    assert "region eu-central-1 (from --region)" in capsys.readouterr().out
    assert bootstrap_stacks(moto_endpoint, "eu-central-1") == ["demo-bootstrap"]


def test_an_unknown_region_is_refused_offline_with_a_suggestion(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert deploy.main(["--bootstrap", "--yes", "--region", "eu-west-9", "--parameters", PARAMETERS]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown AWS region 'eu-west-9': did you mean eu-west-")
    assert err.count("\n") == 1


def test_an_unknown_profile_is_refused_offline(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert deploy.main(["--bootstrap", "--yes", "--profile", "nobody", "--parameters", PARAMETERS]) == 2
    assert capsys.readouterr().err == (
        "error: The config profile (nobody) could not be found: check --profile / AWS_PROFILE against ~/.aws/config\n"
    )


# --- 2. offline first ---------------------------------------------------------------------------------

STAGING = ["--env", "staging", "--image-tag", "v1", "--parameters", PARAMETERS]
PRODUCTION = ["--env", "production", "--image-tag", "v1", "--parameters", PARAMETERS]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            PRODUCTION + ["--yes"],
            "error: production is protected: refusing to execute the change set without a terminal; pass --confirm production to confirm\n",
        ),
        (PRODUCTION + ["--confirm", "prod"], "error: --confirm 'prod' does not match the target 'production'; nothing was done\n"),
        (STAGING, "error: refusing to execute the change set without a terminal to confirm on: rerun with --yes\n"),
        (
            ["--env", "production", "--delete", "--confirm", "staging", "--parameters", PARAMETERS],
            "error: --confirm 'staging' does not match the target 'production'; nothing was done\n",
        ),
    ],
)
def test_confirmation_that_cannot_come_is_refused_before_any_aws_call(argv, expected, capsys):
    ctx = make_context(untouchable_aws(), interactive=False)
    assert deploy.main(argv, ctx, project_dir=FIXTURES) == 2
    assert capsys.readouterr().err == expected


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--dry-run", "--package-only", "--output", "out"], "--dry-run cannot be combined with --package-only"),
        (["--dry-run", "--plan", "--change-set-name", "release-1"], "--dry-run cannot be combined with --plan or --execute-change-set"),
        (["--plan"], "--plan needs --change-set-name NAME"),
        (["--change-set-name", "x"], "--change-set-name is only for --plan"),
        (["--output", "out"], "--output is only for --package-only"),
        (["--plan", "--change-set-name", "deploy-20300102-030405-abcdef12"], "deploy.py's own names are reserved"),
        (["--execute-change-set", "9lives"], "expected a letter, then letters, digits or -"),
        (["--role-arn", "deployer"], "--role-arn 'deployer': expected arn:aws:iam::ACCOUNT:role/NAME"),
        (["--follow", "--delete"], "--follow cannot be combined with --delete, --package-only, --plan or --execute-change-set"),
    ],
)
def test_flag_combinations_that_make_no_sense_exit_2_before_anything(extra, message, capsys):
    with pytest.raises(SystemExit) as raised:
        deploy.main(STAGING + extra, make_context(untouchable_aws()), project_dir=FIXTURES)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_dry_run_needs_no_confirmation():
    # Not refused offline: it goes on to AWS, where the untouchable clients fail it (exit 1, not 2).
    ctx = make_context(untouchable_aws(), interactive=False)
    assert deploy.main(PRODUCTION + ["--dry-run"], ctx, project_dir=FIXTURES) == 1


def test_placeholders_are_refused_offline_one_line_per_value(tmp_path, capsys):
    parameters = tmp_path / "parameters"
    shutil.copytree(FIXTURES / "parameters", parameters)
    (parameters / "staging.yaml").write_text(
        "protected: false\n"
        "notifications:\n"
        "  subscriptions:\n"
        "    - {protocol: email, endpoint: oncall@example.com}\n"
        "    - {protocol: https, endpoint: 'https://hooks.example.org/alerts'}\n"
        "    - {protocol: sqs, endpoint: 'arn:aws:sqs:us-east-1:123456789012:alerts'}\n"
        "    - {protocol: email, endpoint: oncall@shop.io}\n"
    )
    ctx = make_context(untouchable_aws(), interactive=False)
    argv = ["--env", "staging", "--image-tag", "v1", "--yes", "--parameters", str(parameters)]
    assert deploy.main(argv, ctx, project_dir=FIXTURES) == 2
    path = parameters / "staging.yaml"
    assert capsys.readouterr().err.splitlines() == [
        f"error: {path}: notifications.subscriptions[0].endpoint: 'oncall@example.com' is still a placeholder "
        "(an e-mail address under the reserved example domain example.com); put the real value there before deploying",
        f"error: {path}: notifications.subscriptions[1].endpoint: 'https://hooks.example.org/alerts' is still a placeholder "
        "(a URL under the reserved example domain hooks.example.org); put the real value there before deploying",
        f"error: {path}: notifications.subscriptions[2].endpoint: 'arn:aws:sqs:us-east-1:123456789012:alerts' is still a placeholder "
        "(an ARN in the documentation account 123456789012); put the real value there before deploying",
    ]


# --- 8. output --------------------------------------------------------------------------------------


def test_colour_on_a_terminal_and_none_with_no_color_or_a_pipe(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = Console(out=io.StringIO(), colour=True, interactive=False, live=False)
    terminal.warn("the record could not be written")
    assert "\x1b[33m" in terminal.out.getvalue()
    pipe = Console(out=io.StringIO(), interactive=False, live=False)
    pipe.warn("the record could not be written")
    assert pipe.out.getvalue() == "warning: the record could not be written\n"
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Console(out=io.StringIO(), colour=True, interactive=False, live=False)
    plain.warn("x")
    assert "\x1b[33m" not in plain.out.getvalue()


def test_an_error_after_a_progress_line_starts_a_line_of_its_own(capsys):
    c = Console(out=io.StringIO(), interactive=False, live=True)
    c.status("[#####...] 3/9 resources  00:12")
    deploy.fail(c, deploy.Result(), deploy.Interrupted("interrupted"))
    assert c.out.getvalue().endswith("00:12\n")
    assert capsys.readouterr().err == "error: interrupted\n"


def test_the_json_result_is_written_on_refusal_too(tmp_path, capsys):
    ctx = make_context(untouchable_aws(), interactive=False)
    result = tmp_path / "out" / "result.json"
    assert deploy.main(PRODUCTION + ["--yes", "--json", str(result)], ctx, project_dir=FIXTURES) == 2
    written = json.loads(result.read_text())
    assert written["exit_code"] == 2 and written["command"] == "deploy"
    assert written["error"].startswith("production is protected")
    assert written["status"] is None and written["duration_seconds"] >= 0


def test_works_from_any_directory(moto_aws, moto_endpoint, tmp_path):
    # No --parameters: the repository's own parameters/, found from deploy.py's location, not the working directory.
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }
    run = subprocess.run(
        [sys.executable, str(ROOT / "deploy.py"), "--bootstrap", "--dry-run"], cwd=tmp_path, env=environ, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "target bootstrap, stack " in run.stdout
    assert "dry run: nothing executed; the change set was deleted with the empty stack it made" in run.stdout
    assert moto_aws.cloudformation.describe_stacks()["Stacks"] == []


# --- 9. python version ----------------------------------------------------------------------------


def old_python() -> str | None:
    """A Python 3.10 that really starts (a pyenv shim may exist without the version being selectable)."""
    candidates = [str(p) for p in Path.home().glob(".pyenv/versions/3.10*/bin/python3.10")] + [shutil.which("python3.10")]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


OLD_PYTHON = old_python()


@pytest.mark.skipif(OLD_PYTHON is None, reason="no Python 3.10 on this machine to start the scripts with")
@pytest.mark.parametrize("script", ["deploy.py", "build.py"])
def test_an_older_python_gets_one_clear_line(script, tmp_path):
    run = subprocess.run([str(OLD_PYTHON), str(ROOT / script), "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.startswith(f"{script} needs Python 3.11 or newer (see requires-python in pyproject.toml); this is Python 3.10")
    assert run.stderr.count("\n") == 1


def test_pyproject_requires_python_3_11():
    import tomllib

    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"] == ">=3.11"
