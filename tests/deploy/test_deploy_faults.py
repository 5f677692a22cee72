"""Faults between deploy.py and AWS, against moto's server: signals, leftovers, broken answers, time-outs.

Each test says what the user is told, the exit status, and what is left behind.
"""

from __future__ import annotations

import json
import os
import signal

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from deploy_helpers import FIXTURES, REGION, STACK_ARN, at, identity_client, make_context, options, output, stubbed
from faults import Silent, html_server
from test_deploy_moto import STACK, bootstrap, change_sets, keys, stack_names

import deploy
from deployer import workflow
from deployer.aws import Aws
from deployer.execution import Target, prepare

ARGV = ["--env", "staging", "--image-tag", "v1", "--yes", "--parameters", str(FIXTURES / "parameters")]


def send_signal_on(aws: Aws, operation: str, signum: int) -> None:
    """Deliver ``signum`` to this process as ``operation`` is about to be sent, as a user or CI would."""

    def kill(**_):
        os.kill(os.getpid(), signum)

    aws.cloudformation.meta.events.register(f"before-call.cloudformation.{operation}", kill)


@pytest.fixture
def signals_installed():
    contexts = []

    def install(ctx):
        ctx.signals.install()
        contexts.append(ctx)
        return ctx

    yield install
    for ctx in contexts:
        ctx.signals.restore()


# --- 4. interrupts and signals ---------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_change_set_is_made_deletes_it_and_the_empty_stack(moto_aws, signals_installed, signum, capsys):
    bootstrap(moto_aws)
    capsys.readouterr()  # moto's own log lines
    ctx = signals_installed(make_context(moto_aws, interactive=False))
    send_signal_on(moto_aws, "DescribeChangeSet", signum)
    assert deploy.main(ARGV, ctx, project_dir=FIXTURES) == 130
    assert capsys.readouterr().err == (
        "error: interrupted before executing: demo-staging is unchanged; "
        "change set deploy-20300102-030405-00000001 and the empty stack it made deleted\n"
    )
    assert STACK not in stack_names(moto_aws)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_execute_says_the_change_set_is_executing(moto_aws, signals_installed, signum, capsys):
    bootstrap(moto_aws)
    capsys.readouterr()  # moto's own log lines
    ctx = signals_installed(make_context(moto_aws, interactive=False))
    send_signal_on(moto_aws, "ExecuteChangeSet", signum)
    assert deploy.main(ARGV, ctx, project_dir=FIXTURES) == 130
    assert capsys.readouterr().err == (
        "error: interrupted: change set deploy-20300102-030405-00000001 is executing on demo-staging and CloudFormation "
        "carries on; follow it with: python deploy.py --env staging --follow\n"
    )
    # The execution went through (moto runs it at once): the stack is there, and it was not deleted.
    assert moto_aws.cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_a_signal_before_any_change_set_says_no_stack_changed(moto_aws, signals_installed, capsys):
    bootstrap(moto_aws)
    capsys.readouterr()  # moto's own log lines
    ctx = signals_installed(make_context(moto_aws, interactive=False))
    send_signal_on(moto_aws, "CreateChangeSet", signal.SIGTERM)  # held until the change set exists, then deleted
    assert deploy.main(ARGV, ctx, project_dir=FIXTURES) == 130
    assert "demo-staging is unchanged" in capsys.readouterr().err
    assert STACK not in stack_names(moto_aws)


def test_change_sets_left_by_a_crashed_run_are_recognised_by_name_and_removed(moto_aws):
    bootstrap(moto_aws)
    assert workflow.deploy(options(yes=True), make_context(moto_aws, interactive=False)) == 0
    stack_id = moto_aws.cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["StackId"]
    body = moto_aws.cloudformation.get_template(StackName=STACK)["TemplateBody"]
    for name in ("deploy-20300101-000000-deadbeef", "release-42"):  # a crashed run's, and someone's --plan
        moto_aws.cloudformation.create_change_set(
            StackName=stack_id, ChangeSetName=name, TemplateBody=body if isinstance(body, str) else json.dumps(body)
        )
    ctx = make_context(moto_aws, interactive=False)
    assert workflow.deploy(options(yes=True, image_tag="v2"), ctx) == 0
    assert "removing change set deploy-20300101-000000-deadbeef left by an earlier run that did not finish" in output(ctx.console)
    remaining = {c["ChangeSetName"] for c in change_sets(moto_aws)}
    assert "deploy-20300101-000000-deadbeef" not in remaining
    assert "release-42" in remaining


# --- 5. exit codes ----------------------------------------------------------------------------------


def test_a_record_that_cannot_be_written_is_a_warning_and_exit_0(moto_aws, tmp_path):
    bucket = bootstrap(moto_aws)

    def refuse_records(params, **_):
        if params["Key"].startswith("deploys/"):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")

    moto_aws.s3.meta.events.register("provide-client-params.s3.PutObject", refuse_records)
    ctx = make_context(moto_aws, interactive=False)
    result = tmp_path / "result.json"
    assert deploy.main(ARGV + ["--json", str(result)], ctx, project_dir=FIXTURES) == 0
    warning = (
        f"demo-staging is CREATE_COMPLETE, but its deploy record could not be written to s3://{bucket}: "
        "access denied: your credentials may not perform PutObject (called by PutObject); ask for that permission or use a role that has it"
    )
    assert f"warning: {warning}" in output(ctx.console)
    assert keys(moto_aws, bucket, "deploys/") == []
    written = json.loads(result.read_text())
    assert (written["exit_code"], written["status"], written["warnings"], written["record"]) == (0, "CREATE_COMPLETE", [warning], None)


def test_dry_run_with_yes_on_a_rolled_back_stack_deletes_nothing():
    cfn, stubber = stubbed("cloudformation")
    stack = {"StackName": STACK, "StackId": STACK_ARN, "StackStatus": "ROLLBACK_COMPLETE", "CreationTime": at(0)}
    stubber.add_response("describe_stacks", {"Stacks": [stack]})
    ctx = make_context(Aws(clients={"cloudformation": cfn}), interactive=False)
    assert prepare(ctx, options(dry_run=True, yes=True), Target("staging", False, "x"), STACK) == (None, stack)
    stubber.assert_no_pending_responses()  # and no DeleteStack: the Stubber fails any call not queued
    assert "dry run: demo-staging is ROLLBACK_COMPLETE: its first create failed" in output(ctx.console)
    assert "Nothing was deleted and no change set was made" in output(ctx.console)


def test_dry_run_on_a_new_stack_shows_every_change_and_leaves_nothing(moto_aws, tmp_path):
    bucket = bootstrap(moto_aws)
    ctx = make_context(moto_aws, interactive=False)
    result = tmp_path / "result.json"
    assert deploy.main(ARGV + ["--dry-run", "--json", str(result)], ctx, project_dir=FIXTURES) == 0
    text = output(ctx.console)
    assert "uploaded 4 object(s)" in text and "(content-addressed: harmless, and the next deploy reuses them" in text
    assert "Stack demo-staging: 2 changes" in text and "Add     Network" in text
    assert "dry run: nothing executed; the change set was deleted with the empty stack it made" in text
    assert STACK not in stack_names(moto_aws)
    assert keys(moto_aws, bucket, "deploys/") == []
    assert json.loads(result.read_text())["changes"] == {"add": 2, "modify": 0, "remove": 0}


# --- 6. no tracebacks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, expected",
    [
        (502, "error: GetCallerIdentity got HTTP 502 without an AWS error document (a proxy or gateway answered?): "),
        (200, "error: the answer did not come from an AWS API (not the XML/JSON AWS sends; "),
    ],
)
def test_an_html_page_instead_of_aws_is_one_line(status, expected, capsys):
    server, url = html_server(status)
    try:
        aws = Aws(boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"), endpoint_url=url)
        aws.retry_config = Config(retries={"mode": "standard", "total_max_attempts": 1})
        assert deploy.main(ARGV, make_context(aws, interactive=False), project_dir=FIXTURES) == 1
    finally:
        server.shutdown()
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1 and "Traceback" not in err


def test_a_silent_network_is_said_within_seconds_with_a_retry_line(capsys):
    silent = Silent()
    try:
        aws = Aws(boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"), endpoint_url=silent.url)
        aws.first_timeout = 0.2
        aws.retry_config = Config(connect_timeout=0.4, read_timeout=0.4, retries={"mode": "standard", "total_max_attempts": 1})
        ctx = make_context(aws, interactive=False)
        assert deploy.main(ARGV, ctx, project_dir=FIXTURES) == 1
    finally:
        silent.close()
    assert output(ctx.console) == "AWS did not answer within 0.2 s (ReadTimeoutError); retrying with longer time-outs ...\n"
    err = capsys.readouterr().err
    assert err.startswith("error: AWS did not answer in time (Read timeout on endpoint URL: ") and err.count("\n") == 1


def test_delete_with_wait_waits_for_the_operation_in_progress_and_a_dry_run_deletes_nothing():
    cfn, stubber = stubbed("cloudformation")
    busy = {"StackName": STACK, "StackId": STACK_ARN, "StackStatus": "UPDATE_IN_PROGRESS", "CreationTime": at(0)}
    stubber.add_response("describe_stacks", {"Stacks": [busy]}, {"StackName": STACK})
    stubber.add_response("describe_stacks", {"Stacks": [dict(busy, StackStatus="UPDATE_COMPLETE")]}, {"StackName": STACK_ARN})
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": STACK_ARN})
    stubber.add_response("get_template", {"TemplateBody": "{}"}, {"StackName": STACK_ARN, "TemplateStage": "Original"})
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []}, {"StackName": STACK_ARN})
    ctx = make_context(Aws(clients={"cloudformation": cfn, "sts": identity_client()}), interactive=False)
    assert workflow.delete(options(wait=True, dry_run=True), ctx) == 0
    stubber.assert_no_pending_responses()  # and no DeleteStack: the Stubber fails any call not queued
    text = output(ctx.console)
    assert "waiting for demo-staging (UPDATE_IN_PROGRESS) to finish ..." in text
    assert text.rstrip().endswith("dry run: nothing was deleted")


def test_delete_without_wait_refuses_a_busy_stack_with_exit_2(capsys):
    cfn, stubber = stubbed("cloudformation")
    busy = {"StackName": STACK, "StackId": STACK_ARN, "StackStatus": "UPDATE_IN_PROGRESS", "CreationTime": at(0)}
    stubber.add_response("describe_stacks", {"Stacks": [busy]}, {"StackName": STACK})
    ctx = make_context(Aws(clients={"cloudformation": cfn, "sts": identity_client()}), interactive=False)
    argv = ["--env", "staging", "--delete", "--yes", "--parameters", str(FIXTURES / "parameters")]
    assert deploy.main(argv, ctx, project_dir=FIXTURES) == 2
    assert "rerun with --wait to wait for it" in capsys.readouterr().err


def test_a_signal_after_the_stack_reached_its_goal_says_so(moto_aws, signals_installed, capsys):
    bootstrap(moto_aws)
    capsys.readouterr()
    ctx = signals_installed(make_context(moto_aws, interactive=False))

    def kill_on_record(params, **_):
        if params["Key"].startswith("deploys/"):
            os.kill(os.getpid(), signal.SIGTERM)

    moto_aws.s3.meta.events.register("provide-client-params.s3.PutObject", kill_on_record)
    assert deploy.main(ARGV, ctx, project_dir=FIXTURES) == 130
    assert capsys.readouterr().err == (
        "error: interrupted after demo-staging reached CREATE_COMPLETE: its termination protection, "
        "stack policy or deploy record may be missing\n"
    )
