"""Names that cross a stack boundary.

A child stack's parameter has the same title as the output the parent reads
from the stack that produces it, so wiring is ``{NAME: GetAtt(stack, f"Outputs.{NAME}")}``
and a typo fails at import, not at deploy time.
"""

from troposphere import Ref, Select, Split, Sub

# network -> load balancer, cluster, services
VPC_ID = "VpcId"
VPC_CIDR = "VpcCidr"
PUBLIC_SUBNET_IDS = "PublicSubnetIds"
PRIVATE_SUBNET_IDS = "PrivateSubnetIds"

# keys -> everything that encrypts
ENVIRONMENT_KEY_ARN = "EnvironmentKeyArn"

# load balancer -> services
LOAD_BALANCER_ARN = "LoadBalancerArn"
LOAD_BALANCER_FULL_NAME = "LoadBalancerFullName"
LOAD_BALANCER_DNS_NAME = "LoadBalancerDnsName"
LOAD_BALANCER_SECURITY_GROUP_ID = "LoadBalancerSecurityGroupId"
PRODUCTION_LISTENER_ARN = "ProductionListenerArn"
TEST_LISTENER_ARN = "TestListenerArn"
PUBLIC_URL = "PublicUrl"

# cluster -> services
CLUSTER_NAME = "ClusterName"
CLUSTER_ARN = "ClusterArn"

# alerts -> every stack with alarms
ALERT_TOPIC_ARN = "AlertTopicArn"

# health check -> services
HOOK_FUNCTION_ARN = "HookFunctionArn"
HOOK_SECURITY_GROUP_ID = "HookSecurityGroupId"
CANARY_FUNCTION_ARN = "CanaryFunctionArn"
CANARY_FUNCTION_NAME = "CanaryFunctionName"

# Root parameters that deploy.py supplies at deploy time.
ASSETS_BUCKET = "AssetsBucket"
HEALTH_CHECK_CODE_KEY = "HealthCheckCodeKey"
IMAGE_TAG = "ImageTag"
# The CloudFormation service role deploy.py deploys with (--role-arn; empty without one): the environment's
# key policy admits it directly.
DEPLOY_ROLE_ARN = "DeployRoleArn"
# The managed policy every role of an environment carries as its permissions boundary: the pipeline
# target renders it as "<project>-<target>-boundary"; the root passes the name down to every child with roles.
PERMISSIONS_BOUNDARY_NAME = "PermissionsBoundaryName"
BOUNDARY_SUFFIX = "boundary"

# Lambda code packages: the root parameter naming the zip's S3 key -> source directory.
# The zip holds the directory itself (health_check/...), so the handler is a package path.
LAMBDA_ASSETS = {HEALTH_CHECK_CODE_KEY: "lambda/health_check"}


def code_version_parameter(code_key_parameter: str) -> str:
    """The root parameter pinning the S3 version of a zip (``HealthCheckCodeKey`` -> ``HealthCheckCodeVersion``)."""
    return code_key_parameter.removesuffix("Key") + "Version"
HEALTH_CHECK_HANDLER = "health_check.handler.handler"

# The assets bucket is shared by the account's targets; each writes under prefixes of its own, which only its roles
# may write and its deploy role read: its packages (nested templates, Lambda zips) under ``targets/<target>/``, its
# deploy records under ``deploys/<target>/``. The fixed first segment keeps every target's prefixes out of every
# other's whatever the targets are called (target names hold no "/"; a target named "deploys" cannot reach records).
PACKAGES_PREFIX = "targets"
RECORDS_PREFIX = "deploys"


def packages_prefix(target: str) -> str:
    """Where one target's packaged templates and Lambda zips go in the assets bucket (no trailing "/")."""
    return f"{PACKAGES_PREFIX}/{target}"


def records_prefix(target: str) -> str:
    """Where one target's deploy records go in the assets bucket (no trailing "/")."""
    return f"{RECORDS_PREFIX}/{target}"


def canary_metrics_namespace(project_name: str, target: str) -> str:
    """The namespace of one target's canary metrics (HealthCheckSuccess, HealthCheckLatency by Service).

    One per target: two environments in one account must not raise each other's alarms.
    """
    return f"{project_name}/{target}/HealthCheck"


# The rendered root template's file name in build/<target>/.
ROOT_TEMPLATE = "root.json"


def template_file(stack: str) -> str:
    """File name of a nested stack's template, relative to the root template."""
    return f"{stack}.json"


def ecr_repository_name(project_name: str, service_name: str) -> str:
    """The ECR repository a service's images live in, shared by every environment."""
    return f"{project_name}/{service_name}"


def service_output(service_logical_name: str, what: str) -> str:
    """A service stack's output as the root and its siblings know it: the service stacks share a template and
    its output names, so the root puts the service's name before them."""
    return f"{service_logical_name}{what}"


def service_running_parameter(service_logical_name: str) -> str:
    """Root parameter that deploy.py sets to "false" while a service has no image yet."""
    return f"{service_logical_name}Running"


def service_keep_count_parameter(service_logical_name: str) -> str:
    """Root parameter that deploy.py sets to "true" when a release finds the service already running: its desired
    count is then left as autoscaling set it."""
    return f"{service_logical_name}KeepDesiredCount"


def retained_name(base: str) -> Sub:
    """``base`` plus the last 12 hex digits of this stack's id, which are new whenever the stack is created anew.

    For resources kept when their stack is deleted (a protected target's log groups):
    a target deleted and deployed again then creates its own instead of failing on the
    leftovers with "already exists", and the name still says what the resource is.
    """
    stack_uuid = Select(2, Split("/", Ref("AWS::StackId")))
    return Sub(f"{base}-${{Instance}}", Instance=Select(4, Split("-", stack_uuid)))
