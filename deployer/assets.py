"""Finding the assets bucket the bootstrap stack created, and noticing when it is gone."""

from __future__ import annotations

from botocore.exceptions import ClientError

from deployer import stacks
from deployer.errors import Refused
from templates import names
from templates.stacks.bootstrap import stack_name

READY = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"}
BUCKET_LOGICAL_ID = "Bucket"
MISSING = {"404", "NoSuchBucket", "NotFound"}


def bucket_of(cfn, stack: dict) -> str:
    bucket = stacks.outputs(stack).get(names.ASSETS_BUCKET)
    if bucket:
        return bucket
    # Emulators (moto) do not report outputs of change-set-created stacks; the
    # bucket's physical id is its name, the same value the output carries.
    resource = cfn.describe_stack_resource(StackName=stack["StackId"], LogicalResourceId=BUCKET_LOGICAL_ID)
    return resource["StackResourceDetail"]["PhysicalResourceId"]


def bucket_exists(s3, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        if str(error.response.get("Error", {}).get("Code")) in MISSING:
            return False
        raise
    return True


def find_bucket(cfn, project: str, region: str, s3=None) -> str:
    """The bucket's name; with ``s3``, also checked to exist (a stack outlives a bucket deleted by hand)."""
    name = stack_name(project)
    stack = stacks.describe(cfn, name)
    if stack is None:
        raise Refused(
            f"no assets bucket in {region} yet ({name} does not exist): run `python deploy.py --bootstrap` "
            "once per account and region, then deploy again"
        )
    if stack["StackStatus"] not in READY:
        raise Refused(
            f"{name} is {stack['StackStatus']}: the assets bucket is not usable; run `python deploy.py --bootstrap` to finish or repair it"
        )
    bucket = bucket_of(cfn, stack)
    if s3 is not None and not bucket_exists(s3, bucket):
        raise Refused(f"the assets bucket {bucket} of {name} no longer exists: run `python deploy.py --bootstrap` to create it again")
    return bucket
