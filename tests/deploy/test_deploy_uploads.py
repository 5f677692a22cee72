"""An object in the assets bucket is reused only when its stored SHA-256 checksum is that of the bytes deploy.py built.

Against moto's server (which stores and returns SHA-256 checksums over HTTP, HeadObject's ChecksumMode
included), and with botocore's Stubber for the exact requests and the answers moto does not give
(a multipart object's checksum of checksums).
"""

from __future__ import annotations

import shutil

import pytest
from deploy_helpers import FIXTURES, make_context, options, output, stubbed
from test_deploy_moto import STACK, bootstrap

import deploy as deploy_py
from deployer import packaging, workflow
from deployer.uploads import Uploader, sha256_checksum

BUILT = packaging.zip_directory(FIXTURES / "lambda" / "health_check")


def zip_key() -> str:
    """The key the fixture target's deploy gives its Lambda zip."""
    return packaging.content_key("targets/staging/lambda/health_check", BUILT, "zip")


def deployed_code_key(aws) -> str:
    stack = aws.cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["HealthCheckCodeKey"]


def body_of(aws, bucket: str, key: str) -> bytes:
    return aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def deploy(aws):
    ctx = make_context(aws, interactive=False)
    assert workflow.deploy(options(yes=True), ctx) == 0
    return ctx


@pytest.mark.parametrize(
    "planted",
    [
        {"Body": b"other code", "ChecksumAlgorithm": "SHA256"},  # other bytes, with their own (true) checksum
        {"Body": BUILT},  # the very bytes, but with no SHA-256 checksum S3 could vouch for
    ],
    ids=["other bytes", "no checksum"],
)
def test_an_object_planted_under_the_key_a_deploy_uses_is_replaced_and_said(moto_aws, planted):
    bucket = bootstrap(moto_aws)
    key = zip_key()
    moto_aws.s3.put_object(Bucket=bucket, Key=key, **planted)  # as anyone who may write the bucket could

    ctx = deploy(moto_aws)
    text = output(ctx.console)
    assert deployed_code_key(moto_aws) == key
    assert body_of(moto_aws, bucket, key) == BUILT
    head = moto_aws.s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == sha256_checksum(BUILT)
    [warning] = [w for w in ctx.result.warnings if key in w]
    assert warning.startswith(f"s3://{bucket}/{key} does not hold the bytes this run built (")
    assert warning.endswith(f"expected {sha256_checksum(BUILT)}): uploading them again; the object there is not used")
    assert f"warning: {warning}" in text
    assert "uploaded 4 object(s)" in text and "(1 of them in place of other bytes); 0 already in" in text


def test_a_verified_object_is_not_uploaded_again(moto_aws):
    bucket = bootstrap(moto_aws)
    deploy(moto_aws)
    ctx = deploy(moto_aws)
    assert "uploaded 0 object(s), 0 B; 4 already in s3://" in output(ctx.console)
    assert "verified by their SHA-256 checksum" in output(ctx.console)
    assert ctx.result.warnings == []
    assert body_of(moto_aws, bucket, zip_key()) == BUILT


def parameters_of(aws, stack: str) -> dict[str, str]:
    found = aws.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in found["Parameters"]}


def test_each_target_writes_its_packages_and_records_under_its_own_prefixes(moto_aws, tmp_path):
    bucket = bootstrap(moto_aws)
    parameters = tmp_path / "parameters"
    shutil.copytree(FIXTURES / "parameters", parameters)
    (parameters / "qa.yaml").write_text("protected: false\n")  # a second target in the account (moto refuses stack policies)
    for target in ("staging", "qa"):
        ctx = make_context(moto_aws, interactive=False)
        assert workflow.deploy(options(target=target, parameters_dir=parameters, yes=True), ctx) == 0
    listed = sorted(o["Key"] for o in moto_aws.s3.list_objects_v2(Bucket=bucket)["Contents"])
    for target in ("staging", "qa"):
        own = [k for k in listed if k.startswith((f"targets/{target}/", f"deploys/{target}/"))]
        assert len(own) == 4 + 5, target  # 3 templates and the zip; the record's 3 templates, parameters and manifest
        code_key = parameters_of(moto_aws, f"demo-{target}")["HealthCheckCodeKey"]
        assert code_key.startswith(f"targets/{target}/lambda/health_check/")
    assert len(listed) == 2 * (4 + 5)  # nothing outside the two targets' prefixes
    # The same bytes, each target's own copy: the zip is not shared across the targets' prefixes.
    assert parameters_of(moto_aws, "demo-staging")["HealthCheckCodeKey"].split("/")[-1] == (
        parameters_of(moto_aws, "demo-qa")["HealthCheckCodeKey"].split("/")[-1]
    )


def test_every_object_is_written_with_its_sha256_checksum(moto_aws):
    bucket = bootstrap(moto_aws)
    deploy(moto_aws)
    for listed in moto_aws.s3.list_objects_v2(Bucket=bucket)["Contents"]:
        head = moto_aws.s3.head_object(Bucket=bucket, Key=listed["Key"], ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == sha256_checksum(body_of(moto_aws, bucket, listed["Key"])), listed["Key"]


BUCKET, KEY = "assets-1", "targets/staging/lambda/health_check/0123.zip"


def stubbed_uploader():
    s3, stubber = stubbed("s3")
    warnings: list[str] = []
    return Uploader(s3, BUCKET, warn=warnings.append), stubber, warnings


def expect_head(stubber, checksum: str | None, version: str = "v-1"):
    answer = {"ContentLength": 3, "VersionId": version}
    if checksum is not None:
        answer["ChecksumSHA256"] = checksum
    stubber.add_response("head_object", answer, {"Bucket": BUCKET, "Key": KEY, "ChecksumMode": "ENABLED"})


def expect_put(stubber, body: bytes, version: str = "v-2"):
    stubber.add_response(
        "put_object",
        {"VersionId": version, "ChecksumSHA256": sha256_checksum(body)},
        {
            "Bucket": BUCKET,
            "Key": KEY,
            "Body": body,
            "ContentType": "application/zip",
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": sha256_checksum(body),
        },
    )


def test_the_head_asks_for_the_checksum_and_a_match_is_all_it_takes():
    uploader, stubber, warnings = stubbed_uploader()
    expect_head(stubber, sha256_checksum(b"zip"))
    assert uploader.ensure(KEY, b"zip", "application/zip") == "v-1"
    stubber.assert_no_pending_responses()  # no PutObject: the Stubber would refuse an unexpected call
    assert uploader.stats.skipped == [KEY] and uploader.stats.uploaded == [] and warnings == []


@pytest.mark.parametrize(
    "stored, held",
    [
        (sha256_checksum(b"planted"), f"SHA-256 {sha256_checksum(b'planted')}"),
        (sha256_checksum(b"zip") + "-3", f"SHA-256 {sha256_checksum(b'zip')}-3"),  # a multipart object's checksum of checksums
        (None, "no SHA-256 checksum"),
    ],
    ids=["other bytes", "multipart", "none"],
)
def test_anything_but_the_built_bytes_checksum_is_uploaded_again_with_it(stored, held):
    uploader, stubber, warnings = stubbed_uploader()
    expect_head(stubber, stored)
    expect_put(stubber, b"zip")
    assert uploader.ensure(KEY, b"zip", "application/zip") == "v-2"
    stubber.assert_no_pending_responses()
    assert uploader.stats.uploaded == [KEY] and uploader.stats.replaced == [KEY] and uploader.stats.skipped == []
    assert warnings == [
        f"s3://{BUCKET}/{KEY} does not hold the bytes this run built ({held}, expected {sha256_checksum(b'zip')}): "
        "uploading them again; the object there is not used"
    ]


def test_a_missing_key_is_uploaded_without_a_warning():
    uploader, stubber, warnings = stubbed_uploader()
    head = {"Bucket": BUCKET, "Key": KEY, "ChecksumMode": "ENABLED"}
    stubber.add_client_error("head_object", "404", "Not Found", 404, expected_params=head)
    expect_put(stubber, b"zip")
    assert uploader.ensure(KEY, b"zip", "application/zip") == "v-2"
    assert uploader.stats.replaced == [] and warnings == []


@pytest.mark.parametrize("versioning", ["never turned on", "suspended"])
def test_an_unversioned_assets_bucket_is_refused_before_any_change_set(moto_aws, capsys, versioning):
    ctx = make_context(moto_aws, interactive=False)
    assert workflow.bootstrap(options(yes=True), ctx) == 0  # moto leaves the bucket unversioned
    bucket = output(ctx.console).rsplit("assets bucket: ", 1)[1].strip()
    if versioning == "suspended":  # S3 gives new objects the version id "null", which pins nothing
        moto_aws.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    capsys.readouterr()
    argv = ["--env", "staging", "--image-tag", "v1", "--yes", "--parameters-dir", str(FIXTURES / "parameters")]
    assert deploy_py.main(argv, make_context(moto_aws, interactive=False), project_dir=FIXTURES) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: s3://{bucket}/{zip_key()} has no version id: the assets bucket is not versioned"), err
    assert "put-bucket-versioning" in err and STACK not in {s["StackName"] for s in moto_aws.cloudformation.describe_stacks()["Stacks"]}
