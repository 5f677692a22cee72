"""Finding the assets bucket the bootstrap stack created."""

from __future__ import annotations

from deployer import stacks
from deployer.errors import DeployError
from templates import names
from templates.bootstrap import stack_name

READY = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"}
BUCKET_LOGICAL_ID = "Bucket"


def find_bucket(cfn, project: str, region: str) -> str:
    name = stack_name(project)
    stack = stacks.describe(cfn, name)
    if stack is None:
        raise DeployError(
            f"no assets bucket in {region} yet ({name} does not exist): run `python deploy.py --bootstrap` "
            "once per account and region, then deploy again"
        )
    if stack["StackStatus"] not in READY:
        raise DeployError(
            f"{name} is {stack['StackStatus']}: the assets bucket is not usable; run `python deploy.py --bootstrap` to finish or repair it"
        )
    bucket = stacks.outputs(stack).get(names.ASSETS_BUCKET)
    if bucket:
        return bucket
    # Emulators (moto) do not report outputs of change-set-created stacks; the
    # bucket's physical id is its name, the same value the output carries.
    resource = cfn.describe_stack_resource(StackName=name, LogicalResourceId=BUCKET_LOGICAL_ID)
    return resource["StackResourceDetail"]["PhysicalResourceId"]
