#!/usr/bin/env python3
"""Ship a deploy target: package, upload, change set, show, confirm, execute, follow.

    python deploy.py --bootstrap                 # once per account and region: the assets bucket
    python deploy.py --env staging               # deploy a target
    python deploy.py --env staging --dry-run     # show the change set, change nothing
    python deploy.py --env staging --follow      # attach to an operation in progress
    python deploy.py --env staging --delete      # delete the target's stacks

The logic lives in the ``deployer`` package; this file parses arguments and
turns failures into one line and an exit status (1: deploy failed, 2: usage
or configuration, 130: interrupted).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from deployer import workflow
from deployer.aws import Aws
from deployer.console import Console
from deployer.context import Context, Options
from deployer.errors import DeployError, explain

PROJECT_DIR = Path(__file__).resolve().parent  # where lambda/ and the git checkout are


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Package, upload and deploy a target's CloudFormation stacks.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--bootstrap", action="store_true", help="create or update the assets bucket stack (<project>-bootstrap)")
    what.add_argument("--delete", action="store_true", help="delete the target's root stack, listing what is retained")
    what.add_argument(
        "--package-only",
        action="store_true",
        help="package and upload, then write the packaged root template and its configuration to --output",
    )
    p.add_argument(
        "--follow", action="store_true", help="follow the target's (or with --bootstrap, the bootstrap stack's) operation in progress"
    )
    p.add_argument("--env", dest="target", metavar="TARGET", help="deploy target: a parameters/<TARGET>.yaml")
    p.add_argument("--image-tag", metavar="TAG", help="image tag to deploy (default: the git commit's short sha)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="root stack parameter override (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="create and show the change set, then delete it")
    p.add_argument("--yes", action="store_true", help="do not ask before executing (not enough for a protected target: see --confirm)")
    p.add_argument("--confirm", metavar="TARGET", help="a protected target's name, instead of typing it at the prompt")
    p.add_argument("--wait", action="store_true", help="if the stack is busy, wait for its operation to end instead of refusing")
    p.add_argument("--output", type=Path, metavar="DIR", help="where --package-only writes its files")
    p.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    p.add_argument("--profile", help="AWS profile (default: AWS_PROFILE)")
    p.add_argument("--endpoint-url", help=argparse.SUPPRESS)  # local emulators only
    p.add_argument("--parameters-dir", type=Path, default=Path("parameters"), help=argparse.SUPPRESS)
    return p


def run(args: argparse.Namespace, ctx: Context, project_dir: Path) -> int:
    options = Options(
        target=args.target,
        image_tag=args.image_tag,
        params=tuple(args.param),
        yes=args.yes,
        confirm=args.confirm,
        dry_run=args.dry_run,
        package_only=args.package_only,
        output=args.output,
        wait=args.wait,
        parameters_dir=args.parameters_dir,
        project_dir=project_dir,
    )
    if args.follow:
        return workflow.follow_stack(options, ctx, bootstrap_stack=args.bootstrap)
    if args.bootstrap:
        return workflow.bootstrap(options, ctx)
    if args.delete:
        return workflow.delete(options, ctx)
    return workflow.deploy(options, ctx)


def main(argv: list[str] | None = None, ctx: Context | None = None, project_dir: Path = PROJECT_DIR) -> int:
    """Exit status of one command; ``ctx`` and ``project_dir`` are injected by tests."""
    p = parser()
    args = p.parse_args(argv)
    if args.package_only and not args.output:
        p.error("--package-only needs --output DIR")
    if args.follow and (args.delete or args.package_only):
        p.error("--follow cannot be combined with --delete or --package-only")
    if not (args.bootstrap or args.target):
        p.error("--env TARGET is required")
    console = ctx.console if ctx else Console()
    try:
        ctx = ctx or Context(Aws.create(args.region, args.profile, args.endpoint_url), console)
        return run(args, ctx, project_dir)
    except DeployError as error:
        return fail(console, error)
    except (BotoCoreError, ClientError) as error:
        return fail(console, explain(error))
    except KeyboardInterrupt:
        console.say("")
        return fail(console, DeployError("interrupted: nothing was executed; any change set made was deleted"), 130)


def fail(console: Console, error: DeployError, code: int | None = None) -> int:
    lines = str(error).splitlines() or [type(error).__name__]
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    return code if code is not None else error.exit_code


if __name__ == "__main__":
    sys.exit(main())
