"""The pipeline's contract: --plan keeps a named change set, --execute-change-set runs exactly it; --role-arn; SQS policies."""

from __future__ import annotations

import json
import shutil

import pytest
from deploy_helpers import FIXTURES, make_context, output, stubbed
from test_deploy_moto import bootstrap, keys, stack_names

import deploy
from deployer import changesets, queues, workflow
from deployer.changesets import Request

PARAMETERS = ["--parameters", str(FIXTURES / "parameters")]
PLAN = ["--env", "staging", "--image-tag", "v1", "--plan", "--change-set-name", "release-1"] + PARAMETERS
EXECUTE = ["--env", "staging", "--execute-change-set", "release-1", "--yes"] + PARAMETERS


def test_plan_keeps_the_named_change_set_and_execute_runs_exactly_it(moto_aws, tmp_path):
    bucket = bootstrap(moto_aws)
    ctx = make_context(moto_aws, interactive=False)
    plan_file = tmp_path / "plan.json"
    assert deploy.main(PLAN + ["--json", str(plan_file)], ctx, project_dir=FIXTURES) == 0
    text = output(ctx.console)
    assert "Stack demo-staging: 2 changes" in text
    assert "change set release-1 kept; execute it with: python deploy.py --env staging --execute-change-set release-1" in text
    assert change_sets(moto_aws) == ["release-1"]
    ctx = make_context(moto_aws, interactive=False)
    assert deploy.main(PLAN, ctx, project_dir=FIXTURES) == 0  # a retried stage
    assert "replacing the earlier change set release-1" in output(ctx.console)
    assert change_sets(moto_aws) == ["release-1"]
    plan = json.loads(plan_file.read_text())
    assert plan["command"] == "plan" and plan["change_set"] == "release-1" and plan["changes"]["add"] == 2
    assert plan["stacks"][0]["path"] == "demo-staging"
    assert {row["Logical ID"] for row in plan["stacks"][0]["changes"]} == {"Network", "Setting"}

    ctx = make_context(moto_aws, interactive=False)
    result_file = tmp_path / "result.json"
    assert deploy.main(EXECUTE + ["--json", str(result_file)], ctx, project_dir=FIXTURES) == 0
    assert "demo-staging is CREATE_COMPLETE; recorded in s3://" in output(ctx.console)
    result = json.loads(result_file.read_text())
    assert (result["status"], result["change_set"], result["exit_code"]) == ("CREATE_COMPLETE", "release-1", 0)
    recorded = keys(moto_aws, bucket, "deploys/staging/")
    assert [k.rsplit("/", 1)[1] for k in recorded] == ["deploy.json", "parameters.json", "root.json"]
    # The commit comes back from the change set's description: it is no stack tag (it would retag every resource).
    manifest = json.loads(moto_aws.s3.get_object(Bucket=bucket, Key=next(k for k in recorded if k.endswith("deploy.json")))["Body"].read())
    assert manifest["commit"] == "abc1234"
    assert "commit" not in {t["Key"] for t in moto_aws.cloudformation.describe_stacks(StackName="demo-staging")["Stacks"][0]["Tags"]}


def test_a_plan_with_no_changes_is_recognised_by_execute(moto_aws):
    bootstrap(moto_aws)
    assert workflow.deploy(helpers_options(yes=True), make_context(moto_aws, interactive=False)) == 0
    ctx = make_context(moto_aws, interactive=False)
    assert deploy.main(PLAN, ctx, project_dir=FIXTURES) == 0
    assert "no changes: demo-staging is up to date; change set release-1 records that" in output(ctx.console)
    ctx = make_context(moto_aws, interactive=False)
    assert deploy.main(EXECUTE, ctx, project_dir=FIXTURES) == 0
    assert "no changes: demo-staging is up to date; the empty change set release-1 was deleted" in output(ctx.console)
    assert change_sets(moto_aws) == []


def test_executing_a_change_set_that_does_not_exist_is_refused(moto_aws, capsys):
    bootstrap(moto_aws)
    assert workflow.deploy(helpers_options(yes=True), make_context(moto_aws, interactive=False)) == 0
    capsys.readouterr()
    assert deploy.main(EXECUTE, make_context(moto_aws, interactive=False), project_dir=FIXTURES) == 2
    assert capsys.readouterr().err.endswith(
        "error: demo-staging has no change set release-1: make one with --plan --change-set-name release-1\n"
    )


def test_a_protected_target_needs_confirm_to_execute_a_plan_too(moto_aws, capsys):
    argv = ["--env", "production", "--execute-change-set", "release-1", "--yes"] + PARAMETERS
    assert deploy.main(argv, make_context(moto_aws, interactive=False), project_dir=FIXTURES) == 2
    assert "production is protected" in capsys.readouterr().err
    assert "demo-production" not in stack_names(moto_aws)


def test_the_role_arn_reaches_create_change_set():
    cfn, stubber = stubbed("cloudformation")
    role = "arn:aws:iam::123456789012:role/demo-staging-deploy"
    stubber.add_response(
        "create_change_set",
        {
            "Id": "arn:aws:cloudformation:us-east-1:123456789012:changeSet/x/1",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        },
        {
            "StackName": "demo-staging",
            "ChangeSetName": "release-1",
            "ChangeSetType": "UPDATE",
            "Parameters": [],
            "Tags": [],
            "Capabilities": changesets.CAPABILITIES,
            "IncludeNestedStacks": True,
            "ClientToken": "t",
            "RoleARN": role,
            "TemplateURL": "https://b.s3.amazonaws.com/root.json",
        },
    )
    request = Request("demo-staging", "UPDATE", {}, {}, template_url="https://b.s3.amazonaws.com/root.json", role_arn=role)
    changesets.create(cfn, request, name="release-1", token="t")
    stubber.assert_no_pending_responses()


def change_sets(aws) -> list[str]:
    """demo-staging's change sets that have not run (moto lists every stack's, executed ones included)."""
    summaries = aws.cloudformation.list_change_sets(StackName="demo-staging")["Summaries"]
    return [c["ChangeSetName"] for c in summaries if c["StackName"] == "demo-staging" and c["ExecutionStatus"] != "EXECUTE_COMPLETE"]


def helpers_options(**overrides):
    from deploy_helpers import options

    return options(**overrides)


# --- SQS subscriptions ----------------------------------------------------------------------------------

TOPIC = "arn:aws:sns:us-east-1:123456789012:demo-staging-alerts"


@pytest.fixture
def sqs_parameters(tmp_path):
    parameters = tmp_path / "parameters"
    shutil.copytree(FIXTURES / "parameters", parameters)
    (parameters / "staging.yaml").write_text(
        "protected: false\nnotifications:\n  subscriptions:\n    - {protocol: sqs, endpoint: alerts-queue}\n"
    )
    return parameters


def test_a_queue_that_keeps_the_topic_out_gets_a_warning_with_the_statement_to_add(moto_aws, sqs_parameters):
    bootstrap(moto_aws)
    moto_aws.sqs.create_queue(QueueName="alerts-queue")
    ctx = make_context(moto_aws, interactive=False)
    assert workflow.deploy(helpers_options(yes=True, parameters_dir=sqs_parameters), ctx) == 0
    queue = "arn:aws:sqs:us-east-1:123456789012:alerts-queue"
    statement = json.dumps(queues.statement(queue, TOPIC), sort_keys=True)
    assert (
        f"warning: SQS queue {queue} does not let {TOPIC} send to it; SNS will drop those messages. "
        f"Add this statement to the queue's policy: {statement}"
    ) in output(ctx.console)


def test_a_queue_whose_policy_lets_the_topic_send_gets_no_warning(moto_aws, sqs_parameters):
    bootstrap(moto_aws)
    queue = "arn:aws:sqs:us-east-1:123456789012:alerts-queue"
    policy = {"Version": "2012-10-17", "Statement": [queues.statement(queue, TOPIC)]}
    moto_aws.sqs.create_queue(QueueName="alerts-queue", Attributes={"Policy": json.dumps(policy)})
    ctx = make_context(moto_aws, interactive=False)
    assert workflow.deploy(helpers_options(yes=True, parameters_dir=sqs_parameters), ctx) == 0
    assert "warning" not in output(ctx.console)


@pytest.mark.parametrize(
    "statement, allowed",
    [
        ({"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}, True),
        ({"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "*",
          "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}}}, True),
        ({"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "*",
          "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:other"}}}, False),
        ({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "*"}, False),
        ({"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"}, False),
    ],
)  # fmt: skip
def test_which_policies_let_the_topic_send(statement, allowed):
    assert queues.allows({"Statement": [statement]}, "arn:aws:sqs:us-east-1:123456789012:q", TOPIC) is allowed
