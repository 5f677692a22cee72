"""The life of a change set: create, show, confirm, execute, follow - or delete.

Whatever happens between creating a change set and executing it - no
changes, --dry-run, a "no" at the prompt, Ctrl-C, an error - the change set
is deleted, and so is the empty stack a CREATE change set made, so nothing is
left half-done.
"""

from __future__ import annotations

from dataclasses import dataclass

from deployer import changesets, stacks
from deployer.changesets import Request
from deployer.context import Context, Options
from deployer.errors import DeployError, Interrupted, Refused
from deployer.follow import Follower, Outcome, in_progress, latest_events
from deployer.render import change_counts, render, stack_rows
from deployer.timing import elapsed_text


@dataclass(frozen=True)
class Target:
    """Who is being deployed, for prompts and messages."""

    name: str  # the deploy target, e.g. "staging", or "bootstrap"
    protected: bool
    resume: str  # the command that resumes following


def confirm(ctx: Context, options: Options, target: Target, question: str, action: str) -> bool:
    if target.protected:
        return ctx.console.confirm_name(question, name=target.name, given=options.confirm, action=action)
    return ctx.console.confirm(question, yes=options.yes, action=action)


def change_set_name(ctx: Context, token: str) -> str:
    stamp = ctx.poll.utcnow().strftime("%Y%m%d-%H%M%S")
    return f"deploy-{stamp}-{token[:8]}"


def check_confirmation(ctx: Context, options: Options, target: Target, action: str) -> None:
    """Refuse, before any AWS call, a run whose confirmation cannot come: a wrong --confirm, or nobody to ask."""
    console = ctx.console
    if options.confirm is not None and options.confirm != target.name:
        raise Refused(f"--confirm {options.confirm!r} does not match the target {target.name!r}; nothing was done")
    if console.interactive or options.confirm == target.name:
        return
    if target.protected:
        raise Refused(f"{target.name} is protected: refusing to {action} without a terminal; pass --confirm {target.name} to confirm")
    if not options.yes:
        raise Refused(f"refusing to {action} without a terminal to confirm on: rerun with --yes")


def ship(
    ctx: Context, options: Options, target: Target, request: Request, *, name: str | None = None, keep: bool = False
) -> tuple[Outcome, changesets.ChangeSet] | None:
    """Run a change set through to the end; None when nothing was executed (no changes, dry run, kept).

    ``keep`` (--plan) leaves the change set for a later --execute-change-set; otherwise a change set
    this run made and did not execute is deleted on every way out, Ctrl-C and SIGTERM included.
    """
    cfn = ctx.aws.cloudformation
    console = ctx.console
    token = ctx.token()
    name = name or change_set_name(ctx, token)
    console.say(f"Creating change set {name} ({request.change_set_type}) for {request.stack_name} ...")
    change_set_id = stack_id = None
    executed = kept = False
    try:
        with ctx.signals.held():  # its id is needed to delete it
            change_set_id, stack_id = changesets.create(cfn, request, name=name, token=token)
        ctx.result.change_set = name
        if not changesets.wait(cfn, change_set_id, ctx.poll):
            if keep:
                kept = True  # --execute-change-set recognises the empty one and does nothing
                console.say(f"no changes: {request.stack_name} is up to date; change set {name} records that")
            else:
                console.say(f"no changes: {request.stack_name} is up to date (the empty change set was deleted)")
            return None
        tree = changesets.describe(cfn, change_set_id, request.stack_name)
        show(ctx, tree)
        if options.dry_run:
            console.say(
                "dry run: nothing executed; the change set was deleted"
                + (" with the empty stack it made" if request.change_set_type == "CREATE" else "")
            )
            return None
        if keep:
            kept = True
            console.say(f"change set {name} kept; execute it with: python deploy.py --env {target.name} --execute-change-set {name}")
            return None
        if not confirm(ctx, options, target, f"Execute these changes on {request.stack_name}?", "execute the change set"):
            raise Refused("not confirmed: nothing was changed, and the change set was deleted")
        before = latest_events(cfn, stack_id)
        with ctx.signals.held():  # once sent, the run must know it is executing
            changesets.execute(cfn, change_set_id, ctx.token())
            executed = True
        return run_execution(ctx, target, request.stack_name, name, stack_id, before, tree), tree
    except KeyboardInterrupt:
        if executed:
            raise Interrupted(executing_message(request.stack_name, name, target)) from None
        if kept:
            raise Interrupted(f"interrupted: {request.stack_name} is unchanged; change set {name} is kept") from None
        made = " and the empty stack it made" if request.change_set_type == "CREATE" else ""
        raise Interrupted(f"interrupted before executing: {request.stack_name} is unchanged; change set {name}{made} deleted") from None
    finally:
        if change_set_id and not executed and not kept:
            with ctx.signals.held():
                discard(cfn, change_set_id, stack_id, request.change_set_type)


def executing_message(stack_name: str, change_set: str, target: Target) -> str:
    return (
        f"interrupted: change set {change_set} is executing on {stack_name} and CloudFormation carries on; follow it with: {target.resume}"
    )


def run_execution(ctx: Context, target: Target, stack_name: str, name: str, stack_id: str, before: list[dict], tree) -> Outcome:
    ctx.console.say(f"Executing {name}; following {stack_name} and its nested stacks ...")
    follower = Follower(
        ctx.aws.cloudformation,
        stack_id,
        stack_name,
        ctx.console,
        ctx.poll,
        since=max((event["Timestamp"] for event in before), default=None),
        seen_ids=frozenset(event["EventId"] for event in before),
        total=tree.resource_count,
    )
    return follow(follower, target)


def show(ctx: Context, tree: changesets.ChangeSet) -> None:
    for line in render(tree):
        ctx.console.say(line)
    ctx.result.changes = change_counts(tree)
    ctx.result.stacks = stack_rows(tree)


def remove_leftovers(ctx: Context, stack_name: str) -> None:
    """Delete change sets that earlier runs made and could not delete (killed, crashed)."""
    cfn = ctx.aws.cloudformation
    for summary in changesets.leftovers(cfn, stack_name, ctx.poll.utcnow()):
        ctx.console.say(f"removing change set {summary['ChangeSetName']} left by an earlier run that did not finish")
        changesets.delete(cfn, summary["ChangeSetId"])


def discard(cfn, change_set_id: str, stack_id: str, change_set_type: str) -> None:
    changesets.delete(cfn, change_set_id)
    if change_set_type == "CREATE":
        # The stack a CREATE change set made holds nothing until executed.
        stack = stacks.describe(cfn, stack_id)
        if stack and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            cfn.delete_stack(StackName=stack_id)


def follow(follower: Follower, target: Target) -> Outcome:
    try:
        return follower.run()
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted while following: {follower.stacks[follower.stack_id]}'s operation carries on in CloudFormation. "
            f"Resume following with: {target.resume}"
        ) from None


def report_failure(ctx: Context, stack_name: str, outcome: Outcome) -> DeployError:
    hint = ""
    if outcome.status == "ROLLBACK_COMPLETE":
        hint = "; the next deploy offers to delete and recreate it"
    elif outcome.status == "UPDATE_ROLLBACK_FAILED":
        hint = "; " + stacks.way_out(stack_name, outcome.status)
    return DeployError(f"{stack_name} is {outcome.status}; root cause: {outcome.root_cause or 'unknown'}{hint}")


def settle(ctx: Context, stack: dict) -> dict:
    """Wait, showing the time, until the stack's current operation ends."""
    cfn, console, poll = ctx.aws.cloudformation, ctx.console, ctx.poll
    started = poll.monotonic()
    console.say(f"waiting for {stack['StackName']} ({stack['StackStatus']}) to finish ...")
    while in_progress(stack["StackStatus"]):
        poll.sleep()
        stack = cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0]
        console.status(f"{stack['StackName']} {stack['StackStatus']}  {elapsed_text(poll.monotonic() - started)}")
    console.done_status()
    console.say(f"{stack['StackName']} is {stack['StackStatus']}")
    return stack


def prepare(ctx: Context, options: Options, target: Target, stack_name: str) -> tuple[str | None, dict | None]:
    """CREATE or UPDATE, after waiting for, recreating or refusing the stack's current state.

    None for a dry run on a stack that would first have to be deleted: a dry run never deletes.
    """
    cfn = ctx.aws.cloudformation
    while True:
        stack = stacks.describe(cfn, stack_name)
        verdict = stacks.verdict(stack, target.name)
        if verdict.action in (stacks.CREATE, stacks.UPDATE):
            return verdict.action, stack
        if verdict.action == stacks.WAIT and options.wait:
            settle(ctx, stack)
            continue
        if verdict.action == stacks.RECREATE and options.dry_run:
            ctx.console.say(f"dry run: {verdict.message}; a deploy would offer to do that. Nothing was deleted and no change set was made")
            return None, stack
        if verdict.action == stacks.RECREATE:
            ctx.console.say(verdict.message + ".")
            if not confirm(ctx, options, target, f"Delete {stack_name} and create it again?", "delete and recreate it"):
                raise Refused(f"{stack_name} left in ROLLBACK_COMPLETE; it must be deleted before it can be deployed")
            delete_stack(ctx, stack)
            continue
        raise Refused(verdict.message)


def delete_stack(ctx: Context, stack: dict) -> dict:
    cfn = ctx.aws.cloudformation
    if stack.get("EnableTerminationProtection"):
        ctx.console.say(f"turning off termination protection on {stack['StackName']}")
        cfn.update_termination_protection(StackName=stack["StackId"], EnableTerminationProtection=False)
    cfn.delete_stack(StackName=stack["StackId"], ClientRequestToken=ctx.token())
    try:
        stack = settle(ctx, cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0])
    except KeyboardInterrupt:
        raise Interrupted(
            f"stopped waiting; CloudFormation carries on deleting {stack['StackName']} (check with `aws cloudformation describe-stacks`)"
        ) from None
    if stack["StackStatus"] != "DELETE_COMPLETE":
        raise DeployError(stacks.way_out(stack["StackName"], stack["StackStatus"]))
    return stack
