"""The commands deploy.py offers: deploy (or package, plan), execute a planned change set, bootstrap, follow, delete.

Everything that can be decided without AWS - configuration, placeholders still to be
filled in, whether a confirmation can come at all, templates, parameters, Lambda
packaging - is decided first, so a typo or a missing --confirm never costs an upload
or a half-made change set.  Every command then starts by saying where it acts:
account, region and target.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from botocore.exceptions import ClientError

from deployer import assets, changesets, nested, packaging, parameters, queues, record, service_roles, stacks
from deployer.changesets import Request
from deployer.context import Context, Options
from deployer.errors import AWS_ERRORS, DeployError, Interrupted, Refused, UsageError, explain
from deployer.execution import (
    Target,
    check_confirmation,
    confirm,
    delete_stack,
    executing_message,
    follow,
    prepare,
    remove_leftovers,
    report_failure,
    run_execution,
    settle,
    ship,
    show,
)
from deployer.follow import Follower, in_progress, latest_events, operation_start
from deployer.uploads import Uploader
from templates import names
from templates.config import load_target, placeholders
from templates.config.loading import load_project
from templates.config.model import PIPELINE_FILE, PROJECT_FILE, Config
from templates.config.pipeline import PipelineConfig
from templates.config.reader import ConfigError
from templates.stacks import bootstrap as bootstrap_template

JSON = "application/json"
ZIP = "application/zip"
# DescribeChangeSet on a name that is not there (moto answers ValidationError).
CHANGE_SET_MISSING = ("ChangeSetNotFound", "ChangeSetNotFoundException", "ValidationError")


def load_config(options: Options) -> Config | PipelineConfig:
    if not options.target:
        raise UsageError("--env TARGET is required")
    try:
        return load_target(options.parameters_dir, options.target)
    except ConfigError as error:
        raise UsageError("\n".join(error.problems)) from None


def parameter_file(config: Config | PipelineConfig, top: str) -> str | None:
    """The parameter file a top-level field of the configuration was read from."""
    return {"project": PROJECT_FILE, "environment": f"{config.target}.yaml", "pipeline": PIPELINE_FILE}.get(top)


def check_placeholders(config: Config | PipelineConfig, parameters_dir: Path) -> None:
    """Refuse a target whose parameter files still hold the documentation's placeholder values."""
    problems = []
    for found in placeholders.find(config):
        top, _, key = found.key.partition(".")
        file = parameter_file(config, top)
        if file is None:
            continue
        problems.append(
            f"{Path(parameters_dir) / file}: {key}: {found.value!r} is still a placeholder ({found.why}); "
            "put the real value there before deploying"
        )
    if problems:
        raise Refused("\n".join(problems))


def check_certificate_region(config: Config | PipelineConfig, parameters_dir: Path, region: str) -> None:
    """An ACM certificate serves load balancers of its own region only ("Certificates in ACM are regional
    resources", ACM User Guide, "Supported Regions"): one of another region is refused before anything changes."""
    arn = config.environment.load_balancer.certificate_arn if isinstance(config, Config) else ""
    certificate_region = arn.split(":")[3] if arn else region
    if certificate_region != region:
        raise Refused(
            f"{Path(parameters_dir) / (config.target + '.yaml')}: load_balancer.certificate_arn: {arn!r} is a certificate "
            f"of {certificate_region}, and {config.target} deploys to {region}; expected a certificate of {region} "
            "(ACM certificates serve load balancers of their own region); nothing was changed"
        )


def deploy_target(config: Config | PipelineConfig) -> Target:
    return Target(config.target, config.protected, f"python deploy.py --env {config.target} --follow")


def size(count: int) -> str:
    return f"{count / 1024:.1f} KiB" if count >= 1024 else f"{count} B"


def announce(ctx: Context, target: str, stack_name: str) -> dict:
    """The first AWS call of every command: who we are, where, and what we act on."""
    ctx.result.target, ctx.result.stack = target, stack_name
    identity = ctx.aws.identity(ctx.console.say)
    where = ctx.aws.where
    region = ctx.aws.region
    ctx.result.account, ctx.result.region = identity["Account"], region
    details = [
        f"account {identity['Account']}",
        f"region {region}" + (f" (from {where.region_source})" if where and where.region_source else ""),
    ]
    if where and where.profile:
        details.append(f"profile {where.profile}")
    if ctx.aws.endpoint_url:
        details.append(f"endpoint {ctx.aws.endpoint_url}")
    ctx.console.say(f"{', '.join(details)}: target {target}, stack {stack_name}")
    return identity


def sqs_subscriptions(config: Config | PipelineConfig) -> list[tuple[str, str]]:
    """(queue endpoint, topic name) of every SQS subscription the target's topic gets, named as the templates name it."""
    # Imported late, as templates are rendered: --bootstrap, --follow and --delete need no troposphere.
    if isinstance(config, PipelineConfig):
        from templates.stacks.pipeline import resource_name

        subscriptions, topic = config.pipeline.notifications.subscriptions, resource_name(config, "notifications")
    else:
        from templates.stacks.alerts import topic_name

        subscriptions, topic = config.environment.notifications.subscriptions, topic_name(config)
    return [(s.endpoint, topic) for s in subscriptions if s.protocol == "sqs"]


def check_queues(ctx: Context, config: Config | PipelineConfig, identity: dict) -> None:
    wanted = sqs_subscriptions(config)
    if not wanted:
        return
    partition, account, region = identity["Arn"].split(":")[1], identity["Account"], ctx.aws.region
    topics = [(endpoint, f"arn:{partition}:sns:{region}:{account}:{topic}") for endpoint, topic in wanted]
    for line in queues.warnings(ctx.aws.sqs, topics, partition, region, account):
        warn(ctx, line)


def warn(ctx: Context, line: str) -> None:
    ctx.console.warn(line)
    ctx.result.warnings.append(line)


def pinned_version(bucket: str, key: str, version: str | None) -> str:
    """The S3 version the function is pinned to; an unversioned bucket cannot pin one, and is refused."""
    if not version or version == "null":  # "null": put while versioning was suspended, replaceable
        raise Refused(
            f"s3://{bucket}/{key} has no version id: the assets bucket is not versioned, so the object the function runs "
            f"could be replaced after this deploy; turn versioning on (python deploy.py --bootstrap creates it versioned, "
            f"or: aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled)"
        )
    return version


def upload(
    ctx: Context, bucket: str, prefix: str, plan: parameters.Plan, zips: dict[str, bytes], rendered: dict, dry_run: bool
) -> tuple[dict[str, str], nested.PackagedTemplates]:
    """Upload the Lambda zips and the nested templates under ``prefix`` (the only one this target's roles may write);
    the root parameters naming the zips (their keys, and the versions they are pinned to), and the packaged tree."""
    uploader = Uploader(ctx.aws.s3, bucket, warn=lambda line: warn(ctx, line))
    lambda_keys = {}
    for key, body in zips.items():
        lambda_keys[key] = packaging.content_key(f"{prefix}/lambda/{Path(plan.lambda_assets[key]).name}", body, "zip")
        version = uploader.ensure(lambda_keys[key], body, ZIP)
        if key in plan.code_versions:
            lambda_keys[plan.code_versions[key]] = pinned_version(bucket, lambda_keys[key], version)

    def publish(name: str, body: bytes) -> str:
        key = packaging.content_key(f"{prefix}/templates/{Path(name).stem}", body, "json")
        uploader.ensure(key, body, JSON)
        return ctx.aws.template_url(bucket, key)

    packaged = nested.package(rendered, names.ROOT_TEMPLATE, publish)
    stats = uploader.stats
    ctx.result.uploaded = len(stats.uploaded)
    why = " (content-addressed: harmless, and the next deploy reuses them; CloudFormation reads nested templates from S3)"
    replaced = f" ({len(stats.replaced)} of them in place of other bytes)" if stats.replaced else ""
    ctx.console.say(
        f"uploaded {len(stats.uploaded)} object(s), {size(stats.bytes_uploaded)}{replaced}; "
        f"{len(stats.skipped)} already in s3://{bucket}, verified by their SHA-256 checksum" + (why if dry_run else "")
    )
    return lambda_keys, packaged


def deploy(options: Options, ctx: Context) -> int:
    config = load_config(options)
    check_placeholders(config, options.parameters_dir)
    target = deploy_target(config)
    if not (options.dry_run or options.package_only or options.plan):
        check_confirmation(ctx, options, target, "execute the change set")
    try:
        rendered = ctx.render(config)
    except ConfigError as error:  # a configuration that loads but cannot render (an underivable deploy role)
        raise UsageError("\n".join(error.problems)) from None
    root = rendered.get(names.ROOT_TEMPLATE)
    if root is None:
        raise UsageError(f"the {config.target} templates have no {names.ROOT_TEMPLATE}")
    commit = ctx.commit(options.project_dir)
    plan = parameters.plan(root, config, options.params, options.image_tag, commit)
    nested.package(rendered, names.ROOT_TEMPLATE, lambda name, body: name)  # checks the tree offline
    zips = {key: packaging.zip_directory(options.project_dir / path) for key, path in plan.lambda_assets.items()}

    # From here on, AWS.
    identity = announce(ctx, config.target, config.stack_prefix)
    check_certificate_region(config, options.parameters_dir, ctx.aws.region)
    cfn = ctx.aws.cloudformation
    bucket = assets.find_bucket(cfn, config.project.name, ctx.aws.region, ctx.aws.s3)
    change_set_type = None
    if not options.package_only:
        change_set_type, stack = prepare(ctx, options, target, config.stack_prefix)
        ctx.result.status = stack["StackStatus"] if stack else None
        if change_set_type is None:
            return 0
        if stack is not None:
            remove_leftovers(ctx, config.stack_prefix)
            if options.plan:
                replace_plan(ctx, config.stack_prefix, options.change_set_name)
    running = parameters.check_images(ctx.aws.ecr, plan)
    for check in plan.image_checks:
        if running[check.parameter] == "false":
            ctx.console.say(
                f"{check.service}: image {check.repository}:{plan.image_tag} is not in ECR; "
                "the service deploys with zero tasks until the pipeline pushes it"
            )
    check_queues(ctx, config, identity)

    lambda_keys, packaged = upload(ctx, bucket, names.packages_prefix(config.target), plan, zips, rendered, options.dry_run)
    previous = stacks.parameters(stack) if change_set_type == "UPDATE" else {}
    values = parameters.resolve(plan, bucket, lambda_keys, running, previous, options.role_arn)
    tags = stack_tags(config.project.name, config.target)
    commit = commit or "unknown"

    if options.package_only:
        write_package(options.output, packaged, values, tags, config.protected)
        ctx.console.say(f"packaged {config.stack_prefix} into {options.output}")
        return 0

    request = Request(
        config.stack_prefix,
        change_set_type,
        values,
        tags,
        template_url=packaged.root_url,
        description=release_description(config.target, commit),
        role_arn=options.role_arn,
    )
    shipped = ship(ctx, options, target, request, name=options.change_set_name, keep=options.plan)
    if shipped is None:
        return 0
    outcome, tree = shipped
    ctx.result.status = outcome.status
    if not outcome.succeeded:
        raise report_failure(ctx, config.stack_prefix, outcome)
    details = {
        "stack": config.stack_prefix,
        "stack_id": tree.stack_id,
        "change_set_id": tree.id,
        "commit": commit,
        "image_tag": plan.image_tag or "",
        "region": ctx.aws.region,
    }
    finish(ctx, config, outcome.stack, bucket, packaged, values, details)
    return 0


def stack_tags(project: str, target: str) -> dict[str, str]:
    """The root stack's tags: only what never changes between deploys.  CloudFormation propagates stack-level tags
    to the resources of the stack and its nested stacks (by resource type: "CloudFormation resource tagging",
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-resource-tags.html), so a
    tag that changed per deploy (the commit) would update every taggable resource at every release, listener rules
    whose weights ECS rewrites included.  The commit lives in the change set's description and the deploy record."""
    return {"project": project, "target": target}


def release_description(target: str, commit: str) -> str:
    return f"deploy.py --env {target} at {commit}"


def commit_of(description: str) -> str:
    """The commit a change set made by ``release_description`` releases ("unknown" for any other)."""
    found = re.fullmatch(r"deploy\.py --env \S+ at (\S+)", description or "")
    return found.group(1) if found else "unknown"


def replace_plan(ctx: Context, stack_name: str, name: str) -> None:
    """A rerun of the same plan (a retried pipeline stage) replaces its earlier change set of that name."""
    cfn = ctx.aws.cloudformation
    try:
        page = cfn.describe_change_set(StackName=stack_name, ChangeSetName=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in CHANGE_SET_MISSING:
            return
        raise
    if page.get("ExecutionStatus") in changesets.NOT_EXECUTED:
        ctx.console.say(f"replacing the earlier change set {name}")
        changesets.delete(cfn, page["ChangeSetId"])


def finish(ctx: Context, config, stack: dict, bucket: str, packaged: nested.PackagedTemplates, values: dict, details: dict) -> None:
    """After a successful execution: protections, the deploy record (a failure there only warns), the outputs."""
    try:
        _finish(ctx, config, stack, bucket, packaged, values, details)
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted after {config.stack_prefix} reached {stack['StackStatus']}: its termination protection, "
            "stack policy or deploy record may be missing"
        ) from None


def _finish(ctx: Context, config, stack: dict, bucket: str, packaged: nested.PackagedTemplates, values: dict, details: dict) -> None:
    if config.protected:
        stacks.protect(ctx.aws.cloudformation, stack)
        ctx.console.say("termination protection and the stateful-resource stack policy are in place")
    name = config.stack_prefix
    try:
        prefix = record.archive(Uploader(ctx.aws.s3, bucket), config.target, ctx.poll.utcnow(), packaged, values, details)
    except AWS_ERRORS as error:
        warn(ctx, f"{name} is {stack['StackStatus']}, but its deploy record could not be written to s3://{bucket}: {explain(error)}")
    else:
        ctx.result.record = f"s3://{bucket}/{prefix}/"
        ctx.console.say(f"{name} is {stack['StackStatus']}; recorded in s3://{bucket}/{prefix}/", style="green")
    ctx.result.outputs = stacks.outputs(stack)
    show_outputs(ctx, stack)


def execute_planned(options: Options, ctx: Context) -> int:
    """Execute exactly the change set --plan made (and kept), follow it, then protect and record."""
    config = load_config(options)
    target = deploy_target(config)
    check_confirmation(ctx, options, target, "execute the change set")
    name, stack_name = options.execute_change_set, config.stack_prefix
    announce(ctx, config.target, stack_name)
    cfn = ctx.aws.cloudformation
    ctx.result.change_set = name
    bucket = assets.find_bucket(cfn, config.project.name, ctx.aws.region, ctx.aws.s3)
    return _execute_planned(ctx, options, config, target, name, bucket)


def _execute_planned(ctx: Context, options: Options, config, target: Target, name: str, bucket: str) -> int:
    cfn, stack_name = ctx.aws.cloudformation, config.stack_prefix
    try:
        page = cfn.describe_change_set(StackName=stack_name, ChangeSetName=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in CHANGE_SET_MISSING:
            raise Refused(f"{stack_name} has no change set {name}: make one with --plan --change-set-name {name}") from None
        raise
    status, reason = page["Status"], page.get("StatusReason", "")
    if status == "FAILED" and changesets._EMPTY.search(reason):
        changesets.delete(cfn, page["ChangeSetId"])
        stack = stacks.describe(cfn, stack_name)
        ctx.result.status = stack["StackStatus"] if stack else None
        ctx.console.say(f"no changes: {stack_name} is up to date; the empty change set {name} was deleted")
        return 0
    if status != "CREATE_COMPLETE" or page.get("ExecutionStatus") != "AVAILABLE":
        raise Refused(
            f"change set {name} is {status}, execution {page.get('ExecutionStatus')}"
            + (f" ({reason})" if reason else "")
            + ": it cannot be executed; make a new one with --plan"
        )
    tree = changesets.describe(cfn, page["ChangeSetId"], stack_name)
    show(ctx, tree)
    stack_id = page["StackId"]
    body = cfn.get_template(StackName=stack_id, ChangeSetName=name, TemplateStage="Original")["TemplateBody"]
    body_bytes = (body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))).encode("utf-8")
    packaged = nested.PackagedTemplates(names.ROOT_TEMPLATE, {names.ROOT_TEMPLATE: ""}, {names.ROOT_TEMPLATE: body_bytes})
    values = {p["ParameterKey"]: p.get("ParameterValue", "") for p in page.get("Parameters", [])}
    executed = False
    try:
        if not confirm(ctx, options, target, f"Execute {name} on {stack_name}?", "execute the change set"):
            raise Refused(f"not confirmed: nothing was changed; change set {name} is kept")
        before = latest_events(cfn, stack_id)
        with ctx.signals.held():
            changesets.execute(cfn, page["ChangeSetId"], ctx.token())
            executed = True
    except KeyboardInterrupt:
        if executed:
            raise Interrupted(executing_message(stack_name, name, target)) from None
        raise Interrupted(f"interrupted before executing: {stack_name} is unchanged; change set {name} is kept") from None
    outcome = run_execution(ctx, target, stack_name, name, stack_id, before, tree)
    ctx.result.status = outcome.status
    if not outcome.succeeded:
        raise report_failure(ctx, stack_name, outcome)
    details = {
        "stack": stack_name,
        "stack_id": stack_id,
        "change_set_id": page["ChangeSetId"],
        "commit": commit_of(page.get("Description", "")),
        "image_tag": values.get(names.IMAGE_TAG, ""),
        "region": ctx.aws.region,
    }
    finish(ctx, config, outcome.stack, bucket, packaged, values, details)
    return 0


def show_outputs(ctx: Context, stack: dict | None) -> None:
    for key, value in stacks.outputs(stack or {}).items():
        ctx.console.say(f"  {key}: {value}")


def write_package(output: Path, packaged: nested.PackagedTemplates, values: dict, tags: dict, protected: bool) -> None:
    """The packaged root template and a CodePipeline CloudFormation-action template configuration."""
    output.mkdir(parents=True, exist_ok=True)
    (output / names.ROOT_TEMPLATE).write_bytes(packaged.bodies[names.ROOT_TEMPLATE])
    configuration = {"Parameters": values, "Tags": tags}
    if protected:
        configuration["StackPolicy"] = json.loads(stacks.stack_policy())
    stem = Path(names.ROOT_TEMPLATE).stem
    (output / f"{stem}.config.json").write_text(json.dumps(configuration, indent=2, sort_keys=True) + "\n")


def load_bootstrap(options: Options) -> tuple[str, str, Target]:
    try:
        project = load_project(options.parameters_dir)
    except ConfigError as error:
        raise UsageError("\n".join(error.problems)) from None
    return project.name, bootstrap_template.stack_name(project.name), Target("bootstrap", False, "python deploy.py --bootstrap --follow")


def bootstrap(options: Options, ctx: Context) -> int:
    project, name, target = load_bootstrap(options)
    if not options.dry_run:
        check_confirmation(ctx, options, target, "change the bootstrap stack")
    announce(ctx, "bootstrap", name)
    prepare_service_roles(ctx, options)
    if repair_needed(ctx, options, target, name):
        return 0
    change_set_type, stack = prepare(ctx, options, target, name)
    ctx.result.status = stack["StackStatus"] if stack else None
    if change_set_type is None:
        return 0
    if stack is not None:
        remove_leftovers(ctx, name)
    request = Request(
        name,
        change_set_type,
        {},
        stack_tags(project, "bootstrap"),
        template_body=bootstrap_template.build().to_json(),
        description="deploy.py --bootstrap: the assets bucket",
        role_arn=options.role_arn,
    )
    shipped = ship(ctx, options, target, request)
    if shipped is not None:
        ctx.result.status = shipped[0].status
        if not shipped[0].succeeded:
            raise report_failure(ctx, name, shipped[0])
    if not options.dry_run:
        bucket = assets.find_bucket(ctx.aws.cloudformation, project, ctx.aws.region)
        ctx.console.say(f"assets bucket: {bucket}")
        ctx.result.outputs = {names.ASSETS_BUCKET: bucket}
    return 0


def prepare_service_roles(ctx: Context, options: Options) -> None:
    """The service-linked roles every environment's first deploy needs, made once per account (a dry run names them)."""
    if options.dry_run:
        for service, role in service_roles.missing(ctx.aws.iam).items():
            ctx.console.say(f"dry run: would create the service-linked role {role} for {service}")
        return
    if not service_roles.ensure(ctx.aws.iam, ctx.console.say):
        ctx.console.say("service-linked roles for ECS, Elastic Load Balancing and Application Auto Scaling: in place")


def repair_needed(ctx: Context, options: Options, target: Target, name: str) -> bool:
    """A bootstrap stack whose bucket was deleted by hand is deleted, so the create that follows makes a new bucket.

    CloudFormation does not notice a resource deleted outside it: an update finds "no changes".
    True when the run ends here (a dry run says what it would do).
    """
    cfn = ctx.aws.cloudformation
    stack = stacks.describe(cfn, name)
    if stack is None or stack["StackStatus"] not in assets.READY:
        return False
    bucket = assets.bucket_of(cfn, stack)
    if assets.bucket_exists(ctx.aws.s3, bucket):
        return False
    ctx.console.say(f"the assets bucket {bucket} no longer exists, but {name} still lists it; CloudFormation would see no changes")
    if options.dry_run:
        ctx.console.say(f"dry run: a bootstrap would delete {name} and create it again, with a new bucket; nothing was changed")
        return True
    if not confirm(ctx, options, target, f"Delete {name} and create it again?", "recreate the bootstrap stack"):
        raise Refused(f"not confirmed: {name} still names the missing bucket {bucket}")
    delete_stack(ctx, stack)
    return False


def follow_stack(options: Options, ctx: Context, bootstrap_stack: bool = False) -> int:
    """Attach to a stack's operation in progress (after Ctrl-C, or someone else's deploy)."""
    if bootstrap_stack:
        _, name, target = load_bootstrap(options)
    else:
        config = load_config(options)
        name, target = config.stack_prefix, deploy_target(config)
    announce(ctx, target.name, name)
    cfn = ctx.aws.cloudformation
    stack = stacks.describe(cfn, name)
    if stack is None:
        raise Refused(f"{name} does not exist: nothing to follow")
    if in_progress(stack["StackStatus"]):
        since = operation_start(cfn, stack["StackId"])
        outcome = follow(Follower(cfn, stack["StackId"], name, ctx.console, ctx.poll, since=since), target)
        stack = outcome.stack
        if not outcome.succeeded:
            ctx.result.status = outcome.status
            raise report_failure(ctx, name, outcome)
    ctx.result.status = stack["StackStatus"]
    ctx.console.say(f"{name} is {stack['StackStatus']}")
    verdict = stacks.verdict(stack, target.name)
    if verdict.action not in (stacks.CREATE, stacks.UPDATE):
        raise DeployError(verdict.message)
    ctx.result.outputs = stacks.outputs(stack)
    show_outputs(ctx, stack)
    return 0


def retained_resources(cfn, stack: dict) -> list[str]:
    """Resources whose DeletionPolicy keeps them when the stack goes, with their nested path."""
    found = []
    chain = [(stack["StackName"], stack["StackId"])]
    chain += [(f"{stack['StackName']}/{path}", child) for path, child in stacks.nested_stack_ids(cfn, stack["StackId"])]
    for path, stack_id in chain:
        body = cfn.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
        template = json.loads(body) if isinstance(body, str) else body
        physical = {
            summary["LogicalResourceId"]: summary.get("PhysicalResourceId", "")
            for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id)
            for summary in page["StackResourceSummaries"]
        }
        for logical_id, resource in template.get("Resources", {}).items():
            policy = resource.get("DeletionPolicy")
            if policy in ("Retain", "RetainExceptOnCreate", "Snapshot") and logical_id in physical:
                kept = "a final snapshot is kept" if policy == "Snapshot" else physical[logical_id]
                found.append(f"{path}/{logical_id} ({resource.get('Type')}): {kept}")
    return found


def delete(options: Options, ctx: Context) -> int:
    config = load_config(options)
    target = deploy_target(config)
    if not options.dry_run:
        check_confirmation(ctx, options, target, "delete the stack")
    announce(ctx, config.target, config.stack_prefix)
    cfn = ctx.aws.cloudformation
    stack = stacks.describe(cfn, config.stack_prefix)
    if stack is None:
        ctx.console.say(f"{config.stack_prefix} does not exist: nothing to delete")
        return 0
    ctx.result.status = stack["StackStatus"]
    if in_progress(stack["StackStatus"]):
        if not options.wait:
            raise Refused(stacks.verdict(stack, config.target).message)
        stack = settle(ctx, stack)
    kept = retained_resources(cfn, stack)
    ctx.console.say(f"Deleting {config.stack_prefix} deletes every resource in it and its nested stacks" + (", except:" if kept else "."))
    for line in kept:
        ctx.console.say(f"  retained: {line}")
    if options.dry_run:
        ctx.console.say("dry run: nothing was deleted")
        return 0
    if not confirm(ctx, options, target, f"Delete {config.stack_prefix}?", "delete the stack"):
        raise Refused("not confirmed: nothing was deleted")
    stack = delete_stack(ctx, stack)
    ctx.result.status = stack["StackStatus"]
    ctx.console.say(f"{config.stack_prefix} deleted")
    if kept:
        ctx.console.say("still there, to delete by hand when no longer needed:")
        for line in kept:
            ctx.console.say(f"  {line}")
    return 0
