#!/usr/bin/env python3
"""Ship a deploy target: package, upload, change set, show, confirm, execute, follow.

    python deploy.py --bootstrap                 # once per account and region: the assets bucket
    python deploy.py --env staging               # deploy a target
    python deploy.py --env staging --dry-run     # show the change set, change no stack
    python deploy.py --env staging --follow      # attach to an operation in progress
    python deploy.py --env staging --delete      # delete the target's stacks

The logic lives in the ``deployer`` package; this file parses arguments and turns
every way out into one line and an exit status: 0 the goal was reached, 1 the
deploy failed, 2 refused or misused (nothing was changed), 130 interrupted
(SIGINT or SIGTERM).  docs/deploy.md has the details.
"""

from __future__ import annotations

import sys

# Checked before anything else is imported: the modules below need 3.11 (datetime.UTC, among others).
if sys.version_info < (3, 11):  # noqa: UP036 - this line exists for the interpreters the target version excludes
    sys.exit(f"deploy.py needs Python 3.11 or newer (see requires-python in pyproject.toml); this is Python {sys.version.split()[0]}")

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from deployer import changesets, workflow  # noqa: E402
from deployer.aws import Aws  # noqa: E402
from deployer.console import Console, rich_console  # noqa: E402
from deployer.context import Context, Options  # noqa: E402
from deployer.errors import AWS_ERRORS, DeployError, Interrupted, explain  # noqa: E402
from deployer.result import Result  # noqa: E402
from deployer.signals import Signals  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent  # where lambda/, parameters/ and the git checkout are
# CloudFormation's change set names: a letter, then letters, digits and hyphens, at most 128 characters.
CHANGE_SET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
INTERRUPTED = (
    "interrupted before any change set was made: no stack was changed "
    "(objects already uploaded are content-addressed; the next deploy reuses them)"
)


def parser(project_dir: Path = PROJECT_DIR) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Package, upload and deploy a target's CloudFormation stacks. "
        "Exit status: 0 done, 1 the deploy failed, 2 refused or misused (nothing changed), 130 interrupted."
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("--bootstrap", action="store_true", help="create, update or repair the assets bucket stack (<project>-bootstrap)")
    what.add_argument("--delete", action="store_true", help="delete the target's root stack, listing what is retained")
    what.add_argument(
        "--package-only",
        action="store_true",
        help="package and upload, then write the packaged root template and its configuration to --output",
    )
    what.add_argument("--plan", action="store_true", help="create the change set named by --change-set-name, show it and keep it")
    what.add_argument("--execute-change-set", metavar="NAME", help="execute the change set --plan made, follow it, protect and record")
    p.add_argument(
        "--follow", action="store_true", help="follow the target's (or with --bootstrap, the bootstrap stack's) operation in progress"
    )
    p.add_argument("--env", dest="target", metavar="TARGET", help="deploy target: a parameters/<TARGET>.yaml, or pipeline")
    p.add_argument(
        "--image-tag", metavar="TAG", help="image tag to deploy (default: the git commit's full id, as the pipeline tags images)"
    )
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="root stack parameter override (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="show the change set, then delete it: no stack is created, changed or deleted")
    p.add_argument("--yes", action="store_true", help="do not ask before executing (not enough for a protected target: see --confirm)")
    p.add_argument("--confirm", metavar="TARGET", help="a protected target's name, instead of typing it at the prompt")
    p.add_argument("--wait", action="store_true", help="if the stack is busy, wait for its operation to end instead of refusing")
    p.add_argument("--output", type=Path, metavar="DIR", help="where --package-only writes its files")
    p.add_argument("--change-set-name", metavar="NAME", help="the name --plan gives its change set")
    p.add_argument("--role-arn", metavar="ARN", help="IAM role CloudFormation assumes to make the changes (CreateChangeSet RoleARN)")
    p.add_argument("--json", "--outputs-file", dest="json", type=Path, metavar="FILE", help="write the result as JSON to FILE")
    p.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's)")
    p.add_argument("--profile", help="AWS profile (default: AWS_PROFILE)")
    p.add_argument("--endpoint-url", help="AWS endpoint, for local emulators (default: AWS_ENDPOINT_URL)")
    p.add_argument(
        "--parameters",
        "--parameters-dir",
        dest="parameters",
        type=Path,
        default=project_dir / "parameters",
        metavar="DIR",
        help="directory holding project.yaml and <target>.yaml (default: the repository's parameters/)",
    )
    return p


def misuse(args: argparse.Namespace) -> str | None:
    """The first flag combination that makes no sense, decided before anything else runs."""
    checks = [
        (
            args.dry_run and args.package_only,
            "--dry-run cannot be combined with --package-only, which uploads and writes files for the pipeline",
        ),
        (args.dry_run and (args.plan or args.execute_change_set), "--dry-run cannot be combined with --plan or --execute-change-set"),
        (args.package_only and not args.output, "--package-only needs --output DIR"),
        (args.output is not None and not args.package_only, "--output is only for --package-only"),
        (
            args.follow and (args.delete or args.package_only or args.plan or args.execute_change_set),
            "--follow cannot be combined with --delete, --package-only, --plan or --execute-change-set",
        ),
        (args.plan and not args.change_set_name, "--plan needs --change-set-name NAME (the name --execute-change-set is given later)"),
        (args.change_set_name and not args.plan, "--change-set-name is only for --plan"),
        (not (args.bootstrap or args.target), "--env TARGET is required"),
    ]
    for name in (args.change_set_name, args.execute_change_set):
        if name is not None:
            checks.append((not CHANGE_SET_NAME.fullmatch(name), f"change set name {name!r}: expected a letter, then letters, digits or -"))
            checks.append((bool(changesets.OWN_NAME.fullmatch(name)), f"change set name {name!r}: deploy.py's own names are reserved"))
    if args.role_arn is not None:
        checks.append((not ROLE_ARN.fullmatch(args.role_arn), f"--role-arn {args.role_arn!r}: expected arn:aws:iam::ACCOUNT:role/NAME"))
    return next((message for failed, message in checks if failed), None)


def command(args: argparse.Namespace) -> str:
    for flag in ("follow", "bootstrap", "delete", "execute_change_set", "plan", "package_only"):
        if getattr(args, flag):
            return flag.replace("_", "-")
    return "deploy"


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
        plan=args.plan,
        change_set_name=args.change_set_name,
        execute_change_set=args.execute_change_set,
        role_arn=args.role_arn,
        parameters_dir=args.parameters,
        project_dir=project_dir,
    )
    if args.follow:
        return workflow.follow_stack(options, ctx, bootstrap_stack=args.bootstrap)
    if args.bootstrap:
        return workflow.bootstrap(options, ctx)
    if args.delete:
        return workflow.delete(options, ctx)
    if args.execute_change_set:
        return workflow.execute_planned(options, ctx)
    return workflow.deploy(options, ctx)


def main(argv: list[str] | None = None, ctx: Context | None = None, project_dir: Path = PROJECT_DIR) -> int:
    """Exit status of one command; ``ctx`` and ``project_dir`` are injected by tests."""
    p = parser(project_dir)
    args = p.parse_args(argv)
    problem = misuse(args)
    if problem:
        p.error(problem)
    console = ctx.console if ctx else Console()
    result = ctx.result if ctx else Result()
    signals = ctx.signals if ctx else Signals()
    if ctx is None:
        signals.install()
    result.command = command(args)
    started = time.monotonic()
    try:
        ctx = ctx or Context(Aws.create(args.region, args.profile, args.endpoint_url), console, signals=signals, result=result)
        code = run(args, ctx, project_dir)
    except DeployError as error:
        code = fail(console, result, error)
    except AWS_ERRORS as error:
        code = fail(console, result, explain(error))
    except KeyboardInterrupt:
        code = fail(console, result, Interrupted(INTERRUPTED))
    except Exception as error:  # a defect: still one line, with how to see the traceback
        if os.environ.get("DEPLOY_DEBUG"):
            raise
        code = fail(
            console, result, DeployError(f"internal error ({type(error).__name__}: {error}); rerun with DEPLOY_DEBUG=1 for the traceback")
        )
    finally:
        signals.restore()
    result.exit_code = code
    result.duration_seconds = round(time.monotonic() - started, 3)
    if args.json:
        write_result(console, result, args.json)
    return code


def write_result(console: Console, result: Result, path: Path) -> None:
    try:
        result.write(path)
    except OSError as error:
        console.warn(f"could not write the result to {path}: {error.strerror or error}")


def fail(console: Console, result: Result, error: DeployError) -> int:
    console.done_status()  # an error after a progress line starts on a line of its own
    lines = str(error).splitlines() or [type(error).__name__]
    errors = rich_console(sys.stderr)
    for line in lines:
        errors.print(f"error: {line}", style="red")
    result.error = "\n".join(lines)
    return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
