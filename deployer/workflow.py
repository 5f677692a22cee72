"""The commands deploy.py offers: deploy (or package), bootstrap, follow, delete.

Everything that can be checked without AWS - configuration, templates,
parameters, Lambda packaging - is checked first, so a typo never costs a
half-made change set.
"""

from __future__ import annotations

import json
from pathlib import Path

from deployer import assets, nested, packaging, parameters, record, stacks
from deployer.changesets import Request
from deployer.context import Context, Options
from deployer.errors import DeployError, UsageError
from deployer.execution import Target, confirm, delete_stack, follow, prepare, report_failure, ship
from deployer.follow import Follower, in_progress, operation_start
from deployer.uploads import Uploader
from templates import bootstrap as bootstrap_template
from templates import names
from templates.config import Config, ConfigError, load_project
from templates.pipeline_config import PipelineConfig
from templates.targets import load_target

JSON = "application/json"
ZIP = "application/zip"


def load_config(options: Options) -> Config | PipelineConfig:
    if not options.target:
        raise UsageError("--env TARGET is required")
    try:
        return load_target(options.parameters_dir, options.target)
    except ConfigError as error:
        raise UsageError("\n".join(error.problems)) from None


def deploy_target(config: Config | PipelineConfig) -> Target:
    return Target(config.target, config.protected, f"python deploy.py --env {config.target} --follow")


def size(count: int) -> str:
    return f"{count / 1024:.1f} KiB" if count >= 1024 else f"{count} B"


def deploy(options: Options, ctx: Context) -> int:
    config = load_config(options)
    target = deploy_target(config)
    rendered = ctx.render(config)
    root = rendered.get(names.ROOT_TEMPLATE)
    if root is None:
        raise UsageError(f"the {config.target} templates have no {names.ROOT_TEMPLATE}")
    commit = ctx.commit(options.project_dir)
    plan = parameters.plan(root, config, options.params, options.image_tag, commit)
    nested.package(rendered, names.ROOT_TEMPLATE, lambda name, body: name)  # checks the tree offline
    zips = {key: packaging.zip_directory(options.project_dir / path) for key, path in plan.lambda_assets.items()}

    # From here on, AWS.
    cfn = ctx.aws.cloudformation
    bucket = assets.find_bucket(cfn, config.project.name, ctx.aws.region)
    change_set_type = None
    if not options.package_only:
        change_set_type, _ = prepare(ctx, options, target, config.stack_prefix)
    running = parameters.check_images(ctx.aws.ecr, plan)
    for check in plan.image_checks:
        if running[check.parameter] == "false":
            ctx.console.say(
                f"{check.service}: image {check.repository}:{plan.image_tag} is not in ECR; "
                "the service deploys with zero tasks until the pipeline pushes it"
            )

    uploader = Uploader(ctx.aws.s3, bucket)
    lambda_keys = {}
    for key, body in zips.items():
        lambda_keys[key] = packaging.content_key(f"lambda/{Path(plan.lambda_assets[key]).name}", body, "zip")
        uploader.ensure(lambda_keys[key], body, ZIP)

    def publish(name: str, body: bytes) -> str:
        key = packaging.content_key(f"templates/{Path(name).stem}", body, "json")
        uploader.ensure(key, body, JSON)
        return ctx.aws.template_url(bucket, key)

    packaged = nested.package(rendered, names.ROOT_TEMPLATE, publish)
    stats = uploader.stats
    ctx.console.say(
        f"uploaded {len(stats.uploaded)} object(s), {size(stats.bytes_uploaded)}; {len(stats.skipped)} already in s3://{bucket}"
    )
    values = parameters.resolve(plan, bucket, lambda_keys, running)
    tags = {"project": config.project.name, "target": config.target, "commit": commit or "unknown"}

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
        description=f"deploy.py --env {config.target} at {tags['commit']}",
    )
    shipped = ship(ctx, options, target, request)
    if shipped is None:
        return 0
    outcome, tree = shipped
    if not outcome.succeeded:
        raise report_failure(ctx, config.stack_prefix, outcome)
    if config.protected:
        stacks.protect(cfn, outcome.stack)
        ctx.console.say("termination protection and the stateful-resource stack policy are in place")
    prefix = record.archive(
        Uploader(ctx.aws.s3, bucket),
        config.target,
        ctx.poll.utcnow(),
        packaged,
        values,
        {
            "stack": config.stack_prefix,
            "stack_id": tree.stack_id,
            "change_set_id": tree.id,
            "commit": tags["commit"],
            "image_tag": plan.image_tag or "",
            "region": ctx.aws.region,
        },
    )
    ctx.console.say(f"{config.stack_prefix} is {outcome.status}; recorded in s3://{bucket}/{prefix}/")
    show_outputs(ctx, outcome.stack)
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


def bootstrap(options: Options, ctx: Context) -> int:
    try:
        project = load_project(options.parameters_dir)
    except ConfigError as error:
        raise UsageError("\n".join(error.problems)) from None
    name = bootstrap_template.stack_name(project.name)
    target = Target("bootstrap", False, "python deploy.py --bootstrap --follow")
    change_set_type, _ = prepare(ctx, options, target, name)
    commit = ctx.commit(options.project_dir) or "unknown"
    request = Request(
        name,
        change_set_type,
        {},
        {"project": project.name, "target": "bootstrap", "commit": commit},
        template_body=bootstrap_template.build().to_json(),
        description="deploy.py --bootstrap: the assets bucket",
    )
    shipped = ship(ctx, options, target, request)
    if shipped is not None and not shipped[0].succeeded:
        raise report_failure(ctx, name, shipped[0])
    if not options.dry_run:
        bucket = assets.find_bucket(ctx.aws.cloudformation, project.name, ctx.aws.region)
        ctx.console.say(f"assets bucket: {bucket}")
    return 0


def follow_stack(options: Options, ctx: Context, bootstrap_stack: bool = False) -> int:
    """Attach to a stack's operation in progress (after Ctrl-C, or someone else's deploy)."""
    if bootstrap_stack:
        project = load_project(options.parameters_dir)
        name = bootstrap_template.stack_name(project.name)
        target = Target("bootstrap", False, "python deploy.py --bootstrap --follow")
    else:
        config = load_config(options)
        name, target = config.stack_prefix, deploy_target(config)
    cfn = ctx.aws.cloudformation
    stack = stacks.describe(cfn, name)
    if stack is None:
        raise DeployError(f"{name} does not exist: nothing to follow")
    if in_progress(stack["StackStatus"]):
        since = operation_start(cfn, stack["StackId"])
        outcome = follow(Follower(cfn, stack["StackId"], name, ctx.console, ctx.poll, since=since), target)
        stack = outcome.stack
        if not outcome.succeeded:
            raise report_failure(ctx, name, outcome)
    ctx.console.say(f"{name} is {stack['StackStatus']}")
    verdict = stacks.verdict(stack, target.name)
    if verdict.action not in (stacks.CREATE, stacks.UPDATE):
        raise DeployError(verdict.message)
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
    cfn = ctx.aws.cloudformation
    stack = stacks.describe(cfn, config.stack_prefix)
    if stack is None:
        ctx.console.say(f"{config.stack_prefix} does not exist: nothing to delete")
        return 0
    if in_progress(stack["StackStatus"]):
        raise DeployError(stacks.verdict(stack, config.target).message)
    kept = retained_resources(cfn, stack)
    ctx.console.say(f"Deleting {config.stack_prefix} deletes every resource in it and its nested stacks" + (", except:" if kept else "."))
    for line in kept:
        ctx.console.say(f"  retained: {line}")
    if not confirm(ctx, options, target, f"Delete {config.stack_prefix}?", "delete the stack"):
        raise DeployError("not confirmed: nothing was deleted")
    delete_stack(ctx, stack)
    ctx.console.say(f"{config.stack_prefix} deleted")
    if kept:
        ctx.console.say("still there, to delete by hand when no longer needed:")
        for line in kept:
            ctx.console.say(f"  {line}")
    return 0
