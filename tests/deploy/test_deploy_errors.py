"""Every AWS failure a deploy commonly meets is one line, with no traceback, through deploy.py itself."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError
from deploy_helpers import FIXTURES, REGION, identity_client, make_context, stubbed

import deploy
from deployer.aws import Aws
from deployer.errors import explain

ARGS = ["--env", "staging", "--image-tag", "v1", "--yes", "--parameters-dir", str(FIXTURES / "parameters")]


def client_error(code, message="", operation="DescribeStacks", **extra):
    return ClientError({"Error": {"Code": code, "Message": message, **extra}}, operation)


@pytest.mark.parametrize(
    "error, expected",
    [
        (NoCredentialsError(), "no AWS credentials found: set AWS_PROFILE (or pass --profile), run `aws sso login`"),
        (NoRegionError(), "no AWS region configured: pass --region, or set AWS_REGION"),
        (
            client_error("ExpiredToken", "The security token included in the request is expired"),
            "the AWS session token has expired: refresh your credentials",
        ),
        (client_error("ExpiredTokenException", "expired"), "the AWS session token has expired"),
        (
            client_error(
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:CreateChangeSet "
                "on resource: arn:aws:cloudformation:us-east-1:123456789012:stack/demo-staging/* "
                "because no identity-based policy allows it",
                "CreateChangeSet",
            ),
            "access denied: your credentials may not perform cloudformation:CreateChangeSet (called by CreateChangeSet)",
        ),
        (client_error("AccessDeniedException", "not authorized", "DescribeImages"), "may not perform DescribeImages"),
        (client_error("403", "Forbidden", "HeadObject"), "may not perform s3:GetObject (called by HeadObject)"),
        (client_error("Throttling", "Rate exceeded"), "AWS kept throttling DescribeStacks after 10 adaptive retries"),
        (client_error("ThrottlingException", "Rate exceeded", "DescribeImages"), "AWS kept throttling DescribeImages"),
        (
            client_error("NoSuchBucket", "The specified bucket does not exist", "PutObject", BucketName="b-1"),
            "the assets bucket b-1 does not exist: run `python deploy.py --bootstrap`",
        ),
        (
            client_error("ValidationError", "Template format error:\n bad"),
            "DescribeStacks failed: ValidationError: Template format error: bad",
        ),
    ],
)
def test_each_error_is_explained_in_one_line(error, expected):
    message = str(explain(error))
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "code, message, expected",
    [
        (
            "ExpiredToken",
            "The security token included in the request is expired",
            "error: the AWS session token has expired: refresh your credentials (for example `aws sso login`) and rerun",
        ),
        (
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:DescribeStacks",
            "error: access denied: your credentials may not perform cloudformation:DescribeStacks (called by DescribeStacks); "
            "ask for that permission or use a role that has it",
        ),
        (
            "Throttling",
            "Rate exceeded",
            "error: AWS kept throttling DescribeStacks after 10 adaptive retries: wait a minute and rerun, or deploy fewer targets at once",
        ),
    ],
)
def test_deploy_py_prints_one_line_and_exits_1(code, message, expected, capsys):
    cfn, stubber = stubbed("cloudformation")
    stubber.add_client_error("describe_stacks", code, message, 400)
    ctx = make_context(Aws(clients={"cloudformation": cfn, "sts": identity_client()}), interactive=False)
    assert deploy.main(ARGS, ctx, project_dir=FIXTURES) == 1
    captured = capsys.readouterr()
    assert captured.err == expected + "\n"
    assert "Traceback" not in captured.out + captured.err


def test_missing_credentials_are_one_line(moto_endpoint, monkeypatch, tmp_path, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    ctx = make_context(Aws(boto3.Session(region_name=REGION), endpoint_url=moto_endpoint), interactive=False)
    assert deploy.main(ARGS, ctx, project_dir=FIXTURES) == 1
    assert capsys.readouterr().err.startswith("error: no AWS credentials found: set AWS_PROFILE")


def test_a_missing_region_is_refused_before_any_call(monkeypatch, tmp_path, capsys):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert deploy.main(ARGS, project_dir=FIXTURES) == 2
    assert capsys.readouterr().err == (
        "error: no AWS region configured: pass --region, or set AWS_REGION (or a region in your AWS profile)\n"
    )


def untouchable_aws() -> Aws:
    """Clients that fail the test on any call: usage errors must come before AWS."""
    return Aws(clients={name: stubbed(name)[0] for name in ("cloudformation", "s3", "ecr")})


@pytest.mark.parametrize(
    "extra, expected",
    [
        (
            ["--param", "Nope=1"],
            "error: --param Nope: root.json declares no such parameter; it declares "
            "ApiServiceRunning, AssetsBucket, Greeting, HealthCheckCodeKey, HealthCheckCodeVersion, ImageTag\n",
        ),
        (["--param", "ImageTag=x"], "error: --param ImageTag: set by deploy.py from --image-tag; do not pass it\n"),
        (["--param", "Greeting"], "error: --param 'Greeting': expected KEY=VALUE\n"),
        (["--param", "ApiServiceRunning=maybe"], "error: --param ApiServiceRunning=maybe: expected one of true, false\n"),
    ],
)
def test_parameter_errors_exit_2_before_any_aws_call(extra, expected, capsys):
    ctx = make_context(untouchable_aws(), interactive=False)
    assert deploy.main(ARGS + extra, ctx, project_dir=FIXTURES) == 2
    assert capsys.readouterr().err == expected


def test_a_configuration_error_lists_every_problem_and_exits_2(capsys):
    ctx = make_context(untouchable_aws(), interactive=False)
    argv = ["--env", "nowhere", "--parameters-dir", str(FIXTURES / "parameters")]
    assert deploy.main(argv, ctx, project_dir=FIXTURES) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no such target 'nowhere'; expected one of: production, staging" in err


def test_missing_env_and_output_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as raised:
        deploy.main([], make_context(untouchable_aws()))
    assert raised.value.code == 2
    with pytest.raises(SystemExit):
        deploy.main(["--env", "staging", "--package-only"], make_context(untouchable_aws()))
    assert "--package-only needs --output DIR" in capsys.readouterr().err


def test_no_image_tag_outside_git_is_a_usage_error(capsys):
    ctx = make_context(untouchable_aws(), interactive=False)
    ctx.commit = lambda directory: None
    argv = ["--env", "staging", "--yes", "--parameters-dir", str(FIXTURES / "parameters")]
    assert deploy.main(argv, ctx, project_dir=FIXTURES) == 2
    assert "no image tag: pass --image-tag TAG" in capsys.readouterr().err
