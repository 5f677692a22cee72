"""The checks build.py runs over the rendered templates, as stages that slot in beside each other.

A stage sees every rendered template of every target at once (so it can spread work over processes,
serve results from a cache, or look across a target's templates) and answers, for each template in
the order given, what it found there. ``start`` may return before the work is done: build.py starts
every stage first and then collects them in order, so a stage that computes in this process runs
while another stage's worker processes are busy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finding:
    file: str
    path: str
    rule: str
    message: str
    level: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.rule} ({self.level}): {self.message}"


@dataclass(frozen=True)
class Rendered:
    """One rendered template, as written to ``path``."""

    target: str
    path: Path
    template: dict
    text: str


@dataclass(frozen=True)
class Checked:
    """What a stage found in one template, and what that cost."""

    findings: tuple[Finding, ...] = ()
    seconds: float = 0.0  # time spent on this template; 0 when the answer came from a cache
    cached: bool = False


Collect = Callable[[], list[Checked]]


@dataclass(frozen=True)
class Stage:
    """``start(templates)`` begins the work and returns a function that waits for it and returns one
    ``Checked`` per template, in the order given."""

    name: str
    start: Callable[[Sequence[Rendered]], Collect]


def in_process(name: str, check: Callable[[Rendered], Sequence[Finding]]) -> Stage:
    """A stage that checks each template in this process, one after the other (e.g. fast rules)."""

    def start(templates: Sequence[Rendered]) -> Collect:
        results = []
        for rendered in templates:
            started = time.perf_counter()
            findings = tuple(check(rendered))
            results.append(Checked(findings, time.perf_counter() - started))
        return lambda: results

    return Stage(name, start)
