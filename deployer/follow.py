"""Follow a stack operation: events of the root and every nested stack, progress, root cause.

Nested stacks are found from their parent's events (a resource of type
``AWS::CloudFormation::Stack`` whose physical id is the child's ARN) and
followed from then on, so their resources' events - where real failures are
reported - show up under their nested path, e.g. ``shop-staging/Service/TaskDefinition``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from deployer.console import Console
from deployer.errors import one_line
from deployer.timing import Poll, elapsed_text

STACK_TYPE = "AWS::CloudFormation::Stack"
SUCCEEDED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
OPERATION_STARTS = {"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "IMPORT_IN_PROGRESS"}
_CANCELLED = re.compile(r"cancel", re.IGNORECASE)
BAR_WIDTH = 24


def in_progress(status: str) -> bool:
    return status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


def event_style(status: str) -> str | None:
    """Colour on a terminal: failures red, rollbacks yellow, completions green."""
    if "FAILED" in status:
        return "red"
    if "ROLLBACK" in status:
        return "yellow"
    return "green" if status.endswith("_COMPLETE") else None


def is_self_event(event: dict) -> bool:
    """An event about the stack itself rather than one of its resources."""
    return event.get("PhysicalResourceId") == event.get("StackId")


@dataclass
class Outcome:
    status: str
    succeeded: bool
    root_cause: str | None = None
    stack: dict | None = None  # the final DescribeStacks entry, outputs included


@dataclass(frozen=True)
class Seen:
    event: dict
    path: str  # the path of the stack the event belongs to


def root_cause(events: list[Seen], status_reason: str = "") -> str | None:
    """The first failure that is not a cancellation, by time, preferring real resources.

    When a resource fails, CloudFormation cancels its siblings ("Resource
    creation cancelled") and fails every enclosing nested stack with a
    summary; the earliest non-cancelled failure of a resource that is not a
    stack is the one that started it.  The others are the fallback when the
    nested stack's own events were not seen.
    """
    failures = [
        seen
        for seen in events
        if seen.event.get("ResourceStatus", "").endswith("_FAILED")
        and not _CANCELLED.search(seen.event.get("ResourceStatusReason", "") or "")
    ]
    failures.sort(key=lambda seen: seen.event["Timestamp"])
    best = [seen for seen in failures if seen.event.get("ResourceType") != STACK_TYPE] or failures
    if not best:
        return one_line(status_reason) or None
    event, path = best[0].event, best[0].path
    where = path if is_self_event(event) else f"{path}/{event['LogicalResourceId']} ({event['ResourceType']})"
    return f"{where} {event['ResourceStatus']}: {one_line(event.get('ResourceStatusReason') or 'no reason given')}"


def operation_start(cfn, stack_id: str) -> datetime | None:
    """When the stack's current (or last) operation began: the newest start event of the stack itself."""
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
        for event in page["StackEvents"]:
            if is_self_event(event) and event["ResourceStatus"] in OPERATION_STARTS:
                return event["Timestamp"]
    return None


def latest_events(cfn, stack_id: str) -> list[dict]:
    """The first page of events: what a follow after execution must not show again."""
    return cfn.describe_stack_events(StackName=stack_id)["StackEvents"]


class Follower:
    def __init__(
        self,
        cfn,
        stack_id: str,
        path: str,
        console: Console,
        poll: Poll,
        *,
        since: datetime | None = None,
        seen_ids: frozenset[str] = frozenset(),
        total: int | None = None,
    ):
        self.cfn = cfn
        self.stack_id = stack_id
        self.stacks = {stack_id: path}  # stack id -> nested path, in discovery order
        self.console = console
        self.poll = poll
        self.since = since
        self.seen_ids = set(seen_ids)
        self.total = total
        self.events: list[Seen] = []
        self.done: set[tuple[str, str]] = set()
        self.started = poll.monotonic()

    def run(self) -> Outcome:
        while True:
            # Status first, events second: once the status is final, this pass
            # of events already holds the operation's last ones.
            stack = self.cfn.describe_stacks(StackName=self.stack_id)["Stacks"][0]
            self._read_all_stacks()
            self._draw_progress()
            status = stack["StackStatus"]
            if not in_progress(status):
                self.console.done_status()
                cause = None if status in SUCCEEDED else root_cause(self.events, stack.get("StackStatusReason", ""))
                return Outcome(status, status in SUCCEEDED, cause, stack)
            self.poll.sleep()

    def _read_all_stacks(self) -> None:
        # A nested stack found in this pass is read in this pass too; the
        # pass's events are then shown in time order across all stacks.
        fresh: list[Seen] = []
        position = 0
        while position < len(self.stacks):
            stack_id = list(self.stacks)[position]
            for event in self._new_events(stack_id):
                fresh.append(Seen(event, self.stacks[stack_id]))
                self._discover(fresh[-1])
            position += 1
        for seen in sorted(fresh, key=lambda seen: seen.event["Timestamp"]):
            self._record(seen)

    def _discover(self, seen: Seen) -> None:
        event = seen.event
        child = event.get("PhysicalResourceId") or ""
        if event.get("ResourceType") == STACK_TYPE and not is_self_event(event) and child.startswith("arn:") and child not in self.stacks:
            self.stacks[child] = f"{seen.path}/{event['LogicalResourceId']}"

    def _new_events(self, stack_id: str) -> list[dict]:
        fresh = []
        for page in self.cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
            for event in page["StackEvents"]:  # newest first
                if event["EventId"] in self.seen_ids or (self.since and event["Timestamp"] < self.since):
                    return fresh[::-1]
                self.seen_ids.add(event["EventId"])
                fresh.append(event)
        return fresh[::-1]

    def _record(self, seen: Seen) -> None:
        event = seen.event
        self.events.append(seen)
        if not is_self_event(event):
            if event["ResourceStatus"].endswith(("_COMPLETE", "_FAILED", "_SKIPPED")):
                self.done.add((seen.path, event["LogicalResourceId"]))
        reason = one_line(event.get("ResourceStatusReason") or "")
        where = seen.path if is_self_event(event) else f"{seen.path}/{event['LogicalResourceId']}"
        columns = [self._clock(), where, event.get("ResourceType", ""), event["ResourceStatus"], reason]
        self.console.say("  ".join(c for c in columns if c), style=event_style(event["ResourceStatus"]))

    def _clock(self) -> str:
        counted = f"{min(len(self.done), self.total)}/{self.total}" if self.total else str(len(self.done))
        return f"[{elapsed_text(self.poll.monotonic() - self.started)} {counted}]"

    def _draw_progress(self) -> None:
        elapsed = elapsed_text(self.poll.monotonic() - self.started)
        if self.total:
            done = min(len(self.done), self.total)
            filled = BAR_WIDTH * done // self.total
            self.console.status(f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{self.total} resources  {elapsed}")
        else:
            self.console.status(f"{len(self.done)} resources done  {elapsed}")
