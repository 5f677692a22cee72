"""deploy.py's flows against moto's server over real HTTP, with the fixture templates.

moto executes change sets synchronously and reports no per-resource or
nested events, no nested change sets and no Replacement; those are covered by
the Stubber tests.  Here: S3 uploads, ECR look-ups and the change-set life cycle.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from deploy_helpers import FIXTURES, REGION, fixture_templates, make_context, options, output

import deploy
from deployer import workflow
from deployer.errors import DeployError, Interrupted

STACK = "demo-staging"


def bootstrap(aws) -> str:
    ctx = make_context(aws, interactive=False)
    assert workflow.bootstrap(options(yes=True), ctx) == 0
    bucket = output(ctx.console).rsplit("assets bucket: ", 1)[1].strip()
    # The template turns versioning on (test_invariants_storage checks it); moto's CloudFormation does not apply it.
    aws.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def deploy_once(aws, templates=None, **overrides):
    ctx = make_context(aws, interactive=False, templates=templates)
    code = workflow.deploy(options(**{"yes": True, **overrides}), ctx)
    return code, output(ctx.console)


def change_sets(aws, stack=STACK) -> list:
    return aws.cloudformation.list_change_sets(StackName=stack)["Summaries"]


def stack_names(aws) -> set[str]:
    return {s["StackName"] for s in aws.cloudformation.describe_stacks()["Stacks"]}


def keys(aws, bucket: str, prefix: str = "") -> list[str]:
    listed = aws.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def test_bootstrap_creates_the_versioned_bucket_and_is_idempotent(moto_aws):
    bucket = bootstrap(moto_aws)
    assert bucket.startswith("demo-bootstrap-")
    moto_aws.s3.head_bucket(Bucket=bucket)  # its properties are tested on the template: moto ignores them
    ctx = make_context(moto_aws, interactive=False)
    assert workflow.bootstrap(options(yes=True), ctx) == 0
    assert "no changes: demo-bootstrap is up to date" in output(ctx.console)
    assert [c for c in change_sets(moto_aws, "demo-bootstrap") if c["ExecutionStatus"] != "EXECUTE_COMPLETE"] == []


def test_a_deploy_before_bootstrap_says_what_to_run(moto_aws):
    with pytest.raises(DeployError, match=r"run `python deploy.py --bootstrap` once per account and region"):
        deploy_once(moto_aws)


def test_first_deploy_creates_nested_stacks_and_an_unchanged_redeploy_uploads_nothing(moto_aws):
    bucket = bootstrap(moto_aws)
    code, first = deploy_once(moto_aws)
    assert code == 0
    assert "uploaded 4 object(s)" in first and "0 already in" in first
    assert "demo-staging is CREATE_COMPLETE" in first
    resources = moto_aws.cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    assert {r["LogicalResourceId"]: r["ResourceType"] for r in resources} == {
        "Network": "AWS::CloudFormation::Stack",
        "Setting": "AWS::SSM::Parameter",
    }
    artefacts = keys(moto_aws, bucket, "targets/staging/")
    assert [key.rsplit("/", 1)[0] for key in artefacts] == [
        "targets/staging/lambda/health_check",
        "targets/staging/templates/network",
        "targets/staging/templates/root",
        "targets/staging/templates/subnets",
    ]

    code, second = deploy_once(moto_aws)
    assert code == 0
    assert "uploaded 0 object(s), 0 B; 4 already in" in second
    assert "no changes: demo-staging is up to date" in second
    assert keys(moto_aws, bucket, "targets/staging/") == artefacts
    assert [c for c in change_sets(moto_aws) if c["ExecutionStatus"] != "EXECUTE_COMPLETE"] == []


def test_a_change_deep_in_the_tree_uploads_that_template_and_its_parents_only(moto_aws):
    bootstrap(moto_aws)
    deploy_once(moto_aws)
    templates = fixture_templates()
    templates["subnets.json"]["Resources"]["Extra"] = {"Type": "AWS::SNS::Topic"}
    code, text = deploy_once(moto_aws, templates=templates)
    assert code == 0
    assert "uploaded 3 object(s)" in text and "1 already in" in text  # subnets, network, root; not the zip
    assert re.search(r"Modify +Network +AWS::CloudFormation::Stack", text)
    assert "demo-staging is UPDATE_COMPLETE" in text


def test_the_parameters_reach_the_stack(moto_aws):
    bucket = bootstrap(moto_aws)
    deploy_once(moto_aws, params=("Greeting=hi",))
    stack = moto_aws.cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert values["AssetsBucket"] == bucket
    assert values["ImageTag"] == "v1"
    assert values["Greeting"] == "hi"
    assert values["ApiServiceRunning"] == "false"
    assert values["HealthCheckCodeKey"].startswith("targets/staging/lambda/health_check/") and values["HealthCheckCodeKey"].endswith(".zip")
    # the function runs the object this deploy uploaded, even if another is put under its key later
    uploaded = moto_aws.s3.head_object(Bucket=bucket, Key=values["HealthCheckCodeKey"])["VersionId"]
    assert values["HealthCheckCodeVersion"] == uploaded
    # Nothing that changes per deploy: stack tags reach every resource, so a commit tag would update them all.
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {"project": "demo", "target": "staging"}


def test_a_service_whose_image_is_in_ecr_runs(moto_aws):
    bootstrap(moto_aws)
    ecr = moto_aws.ecr
    ecr.create_repository(repositoryName="demo/api-service")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {}, "layers": []}
    ecr.put_image(repositoryName="demo/api-service", imageManifest=json.dumps(manifest), imageTag="v1")
    code, text = deploy_once(moto_aws)
    assert "not in ECR" not in text
    stack = moto_aws.cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    assert {"ParameterKey": "ApiServiceRunning", "ParameterValue": "true"} in stack["Parameters"]


def test_a_missing_image_deploys_the_service_with_zero_tasks_and_says_so(moto_aws):
    bootstrap(moto_aws)
    moto_aws.ecr.create_repository(repositoryName="demo/api-service")  # repository, but no v1 image
    code, text = deploy_once(moto_aws)
    assert "api-service: image demo/api-service:v1 is not in ECR; the service deploys with zero tasks" in text
    assert "worker-service" not in text  # the root declares no WorkerServiceRunning


def test_dry_run_leaves_no_change_set_and_no_empty_stack(moto_aws):
    bootstrap(moto_aws)
    code, text = deploy_once(moto_aws, dry_run=True)
    assert code == 0
    assert re.search(r"Add +Network +AWS::CloudFormation::Stack", text) and "dry run: nothing executed" in text
    assert STACK not in stack_names(moto_aws)


def test_answering_no_deletes_the_change_set(moto_aws):
    bootstrap(moto_aws)
    deploy_once(moto_aws)
    templates = fixture_templates()
    templates["root.json"]["Resources"]["Other"] = {"Type": "AWS::SNS::Topic"}
    ctx = make_context(moto_aws, "n", templates=templates)
    with pytest.raises(DeployError, match="not confirmed: nothing was changed, and the change set was deleted"):
        workflow.deploy(options(), ctx)
    assert "Execute these changes on demo-staging? [y/N]" in ctx.console._ask.questions[0]
    assert [c for c in change_sets(moto_aws) if c["ExecutionStatus"] != "EXECUTE_COMPLETE"] == []


def test_ctrl_c_at_the_prompt_deletes_the_change_set_and_the_empty_stack(moto_aws):
    bootstrap(moto_aws)
    ctx = make_context(moto_aws, KeyboardInterrupt())
    with pytest.raises(Interrupted) as raised:
        workflow.deploy(options(), ctx)
    assert str(raised.value) == (
        "interrupted before executing: demo-staging is unchanged; change set deploy-20300102-030405-00000001 "
        "and the empty stack it made deleted"
    )
    assert raised.value.exit_code == 130
    assert STACK not in stack_names(moto_aws)


def test_without_a_terminal_or_yes_it_refuses(moto_aws):
    bootstrap(moto_aws)
    ctx = make_context(moto_aws, interactive=False)
    with pytest.raises(DeployError, match="refusing to execute the change set without a terminal .*: rerun with --yes"):
        workflow.deploy(options(), ctx)
    assert STACK not in stack_names(moto_aws)


def test_package_only_writes_the_packaged_root_and_its_configuration(moto_aws, tmp_path):
    bucket = bootstrap(moto_aws)
    code, text = deploy_once(moto_aws, package_only=True, output=tmp_path)
    assert code == 0
    root = json.loads((tmp_path / "root.json").read_text())
    url = root["Resources"]["Network"]["Properties"]["TemplateURL"]
    assert url.startswith(f"https://{bucket}.s3.amazonaws.com/targets/staging/templates/network/")
    configuration = json.loads((tmp_path / "root.config.json").read_text())
    assert configuration["Parameters"]["ImageTag"] == "v1"
    assert configuration["Tags"] == {"project": "demo", "target": "staging"}
    assert "StackPolicy" not in configuration
    assert STACK not in stack_names(moto_aws)


def test_each_successful_deploy_is_recorded(moto_aws):
    bucket = bootstrap(moto_aws)
    deploy_once(moto_aws)
    prefix = "deploys/staging/20300102T030405Z/"
    assert keys(moto_aws, bucket, prefix) == [
        prefix + "deploy.json",
        prefix + "parameters.json",
        prefix + "templates/network.json",
        prefix + "templates/root.json",
        prefix + "templates/subnets.json",
    ]
    body = moto_aws.s3.get_object(Bucket=bucket, Key=prefix + "parameters.json")["Body"].read()
    assert {"ParameterKey": "ImageTag", "ParameterValue": "v1"} in json.loads(body)
    manifest = json.loads(moto_aws.s3.get_object(Bucket=bucket, Key=prefix + "deploy.json")["Body"].read())
    assert manifest["commit"] == "abc1234" and manifest["root_template_url"].startswith(f"https://{bucket}.s3.amazonaws.com/")


def test_a_missing_bucket_is_refused_before_any_change_and_bootstrap_repairs_it(moto_aws, capsys):
    bucket = bootstrap(moto_aws)
    moto_aws.s3.delete_bucket(Bucket=bucket)
    capsys.readouterr()
    ctx = make_context(moto_aws, interactive=False)
    argv = ["--env", "staging", "--image-tag", "v1", "--yes", "--parameters-dir", str(FIXTURES / "parameters")]
    assert deploy.main(argv, ctx, project_dir=FIXTURES) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"error: the assets bucket {bucket} of demo-bootstrap no longer exists: run `python deploy.py --bootstrap` to create it again\n"
    )
    assert STACK not in stack_names(moto_aws)

    ctx = make_context(moto_aws, interactive=False)
    assert workflow.bootstrap(options(yes=True), ctx) == 0
    text = output(ctx.console)
    assert f"the assets bucket {bucket} no longer exists, but demo-bootstrap still lists it" in text
    repaired = text.rsplit("assets bucket: ", 1)[1].strip()
    assert repaired != bucket
    moto_aws.s3.head_bucket(Bucket=repaired)
    moto_aws.s3.put_bucket_versioning(Bucket=repaired, VersioningConfiguration={"Status": "Enabled"})  # as in bootstrap()
    code, _ = deploy_once(moto_aws)
    assert code == 0


def test_delete_lists_what_is_retained(moto_aws):
    bootstrap(moto_aws)
    deploy_once(moto_aws)
    ctx = make_context(moto_aws, "y")
    assert workflow.delete(options(), ctx) == 0
    text = output(ctx.console)
    assert "  retained: demo-staging/Setting (AWS::SSM::Parameter): /demo-staging/greeting" in text
    assert "demo-staging deleted" in text
    assert STACK not in stack_names(moto_aws)


def test_follow_on_a_settled_stack_shows_its_state(moto_aws):
    bootstrap(moto_aws)
    deploy_once(moto_aws)
    ctx = make_context(moto_aws)
    assert workflow.follow_stack(options(), ctx) == 0
    assert "demo-staging is CREATE_COMPLETE" in output(ctx.console)


@pytest.mark.parametrize(("region", "refused"), [("eu-west-1", True), (REGION, False)])
def test_a_certificate_of_another_region_is_refused_before_anything_changes(moto_aws, tmp_path, region, refused):
    """A load balancer serves only certificates of its own region: deploying to us-east-1 with one of eu-west-1
    would fail at the listener, after the network and more were made."""
    bootstrap(moto_aws)
    parameters = tmp_path / "parameters"
    shutil.copytree(FIXTURES / "parameters", parameters)
    certificate = f"arn:aws:acm:{region}:210987654321:certificate/11111111-2222-3333-4444-555555555555"
    settings = "load_balancer:\n  certificate_arn: " + certificate + "\n  domain_name: staging.demoshop.io\n"
    (parameters / "staging.yaml").write_text(settings)
    if not refused:
        assert deploy_once(moto_aws, parameters_dir=parameters)[0] == 0 and STACK in stack_names(moto_aws)
        return
    with pytest.raises(DeployError) as error:
        deploy_once(moto_aws, parameters_dir=parameters)
    expected = f"load_balancer.certificate_arn: '{certificate}' is a certificate of eu-west-1, and staging deploys to {REGION}"
    assert expected in str(error.value)
    assert STACK not in stack_names(moto_aws)
