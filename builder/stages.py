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
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class TemplateReport:
    file: Path
    resources: int
    parameters: int
    outputs: int
    size: int
    findings: tuple[Finding, ...]
    target: str = ""
    checks: dict[str, Checked] = field(default_factory=dict)  # stage name -> what it found and cost here


@dataclass
class BuildResult:
    reports: list[TemplateReport] = field(default_factory=list)
    render_seconds: float = 0.0
    # stage name -> wall time from its start to its results (stages overlap, so these may add up to more than the whole)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    check_seconds: float = 0.0
    preflight: dict | None = None  # build.py's preflight report: checks made, findings (one line each), seconds

    @property
    def findings(self) -> list[Finding]:
        return [f for report in self.reports for f in report.findings]

    @property
    def lint_seconds(self) -> float:
        return self.stage_seconds.get("lint", 0.0)


def run_stages(rendered: Sequence[Rendered], stages: Sequence[Stage]) -> tuple[dict[str, list[Checked]], dict[str, float]]:
    """Start every stage, then collect each: a stage working in other processes overlaps the ones after it."""
    started = {}
    collects = []
    for stage in stages:
        started[stage.name] = time.perf_counter()
        collects.append((stage, stage.start(rendered)))
    checked, seconds = {}, {}
    for stage, collect in collects:
        checked[stage.name] = collect()
        seconds[stage.name] = time.perf_counter() - started[stage.name]
    return checked, seconds


def check(rendered: Sequence[Rendered], stages: Sequence[Stage], render_seconds: float = 0.0) -> BuildResult:
    """Run ``stages`` over every rendered template and report on each."""
    result = BuildResult(render_seconds=render_seconds)
    started = time.perf_counter()
    checked, result.stage_seconds = run_stages(rendered, stages)
    result.check_seconds = time.perf_counter() - started
    for index, item in enumerate(rendered):
        checks = {name: results[index] for name, results in checked.items()}
        result.reports.append(
            TemplateReport(
                file=item.path,
                resources=len(item.template.get("Resources", {})),
                parameters=len(item.template.get("Parameters", {})),
                outputs=len(item.template.get("Outputs", {})),
                size=len(item.text.encode("utf-8")),
                findings=tuple(f for stage in stages for f in checks[stage.name].findings),
                target=item.target,
                checks=checks,
            )
        )
    return result
