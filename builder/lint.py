"""cfn-lint, in process, with its rules loaded once, spread over the available cores, cached by content."""

from __future__ import annotations

import difflib
import gc
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from builder.lint_cache import LintCache, cfn_lint_version, entry_key
from builder.stages import Checked, Collect, Finding, Rendered, Stage

__all__ = ["DEFAULT_REGIONS", "Finding", "RuleLoader", "UnknownRegion", "default_jobs", "lint_stage", "lint_template", "rules"]

DEFAULT_REGIONS = ("us-east-1",)
# What a worker costs before it lints anything (measured by bench/build_scaling.py on 2 cores): a forked
# worker inherits the loaded rules; a spawned one (no fork on macOS/Windows) imports cfn-lint and loads them. A
# RuleLoader's workers fork from the process that loaded the rules while the templates were rendered.
WORKER_START_SECONDS = {"fork": 0.05, "loader": 0.05, "spawn": 2.0}
# cfn-lint's cost is close to linear in resources: 9 to 35 ms each on the machines measured.
SECONDS_PER_RESOURCE = 0.02


class UnknownRegion(ValueError):
    """A region cfn-lint does not know; the message is one line saying how to list the known ones."""


@lru_cache(maxsize=1)
def rules():
    """Loading cfn-lint's rules takes most of a second; do it once per process."""
    from cfnlint.core import get_rules  # imported here so rendering alone (checkov's env) needs no cfn-lint

    return get_rules([], [], [])


def check_regions(regions: Sequence[str]) -> None:
    from cfnlint.helpers import REGIONS

    for region in regions:
        if region not in REGIONS:
            near = difflib.get_close_matches(region, REGIONS, n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise UnknownRegion(
                f"--region {region}: not a region cfn-lint {cfn_lint_version()} knows{hint}; list them with: "
                f"python -c \"from cfnlint.helpers import REGIONS; print(*REGIONS)\""
            )


def _level(rule_id: str) -> str:
    return {"E": "error", "W": "warning", "I": "info"}.get(rule_id[:1], "error")


def lint_template(path: Path, template: dict, regions: Sequence[str] = DEFAULT_REGIONS) -> list[Finding]:
    """Lint one rendered template; ``path`` lets cfn-lint resolve nested TemplateURLs beside it."""
    from cfnlint.core import run_checks

    matches = run_checks(str(path), template, rules(), list(regions))
    return [
        Finding(
            file=str(path),
            path="/".join(str(part) for part in (getattr(m, "path", None) or [f"line {m.linenumber}"])),
            rule=m.rule.id,
            message=m.message,
            level=_level(m.rule.id),
        )
        for m in matches
    ]


def default_jobs() -> int:
    """The cores this process may run on (a container's or taskset's limit), not the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def start_method() -> str:
    # fork shares the loaded rules with the workers; macOS and Windows lack a safe fork.
    return "fork" if sys.platform == "linux" else "spawn"


def worker_count(todo: Sequence[Rendered], jobs: int, method: str) -> int:
    """How many processes to lint ``todo`` with: one, unless more would finish sooner after their start-up."""
    workers = min(jobs, len(todo))
    if workers <= 1:
        return 1
    serial = SECONDS_PER_RESOURCE * sum(len(r.template.get("Resources", {})) for r in todo)
    parallel = serial / workers + WORKER_START_SECONDS[method] * workers
    return workers if parallel < serial else 1


def _lint_task(task: tuple[int, str, dict, tuple[str, ...]]) -> tuple[int, list[Finding], float]:
    index, path, template, regions = task
    started = time.perf_counter()
    findings = lint_template(Path(path), template, regions)
    return index, findings, time.perf_counter() - started


# Held while a pool forks its workers: a handler that raised then would interrupt Pool() before it can stop
# the workers it has started (its own clean-up catches Exception, not SystemExit), leaving them waiting for
# work forever, or interrupt an at-fork hook in the middle (logging's, which then prints a traceback).
HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _init_worker(load_rules: bool) -> None:
    """The parent stops its workers (Ctrl-C reaches the whole process group; it terminates them): none prints a
    traceback of its own. A spawned worker loads the rules itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)  # forked while its parent held them
    if load_rules:
        rules()


def _sorted_results(done) -> list[tuple[list[Finding], float]]:
    return [(findings, seconds) for _, findings, seconds in sorted(done, key=lambda item: item[0])]


def _start_pool(context, tasks: list, workers: int, load_rules: bool) -> Collect:
    """Start linting ``tasks`` in ``workers`` processes of ``context``; the returned function waits for the results
    and ends the pool (whatever happens meanwhile)."""
    gc.freeze()  # keeps the garbage collector from touching (and so copying) this process's pages in each worker
    held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        pool = context.Pool(workers, initializer=_init_worker, initargs=(load_rules,))
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    finally:
        gc.unfreeze()
    try:
        running = pool.imap_unordered(_lint_task, tasks, chunksize=1)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a signal held meanwhile is handled now, with the pool in hand
    except BaseException:
        pool.terminate()
        pool.join()
        raise

    def collect() -> list[tuple[int, list[Finding], float]]:
        try:
            done = list(running)
            pool.close()
        finally:
            pool.terminate()
            pool.join()
        return done

    return collect


def _tasks(todo: Sequence[Rendered], regions: tuple[str, ...]) -> list[tuple[int, str, dict, tuple[str, ...]]]:
    # The largest templates first, so no worker is left with a long one at the end.
    return sorted(
        ((i, str(r.path), r.template, regions) for i, r in enumerate(todo)),
        key=lambda task: -len(task[2].get("Resources", {})),
    )


def _lint_all(todo: Sequence[Rendered], regions: tuple[str, ...], jobs: int, loader: RuleLoader | None = None) -> Collect:
    """Start linting ``todo``; the returned function waits and gives (findings, seconds) in ``todo``'s order."""
    method = "loader" if loader else start_method()
    workers = worker_count(todo, jobs, method)
    tasks = _tasks(todo, regions)
    if loader:  # even with one worker: linting here would first import cfn-lint and load its rules, a second or two
        receive = loader.lint(tasks, workers)
        return lambda: _sorted_results(receive())
    if workers == 1:
        return lambda: _sorted_results(map(_lint_task, tasks))
    collect = _start_pool(multiprocessing.get_context(method), tasks, workers, load_rules=method == "spawn")
    return lambda: _sorted_results(collect())


# How long a stopped loader may take to stop its workers before it is killed.
STOP_GRACE_SECONDS = 5


class RuleLoader:
    """A process forked before rendering that imports cfn-lint and loads its rules at once, on another core while
    this one renders; it lints later, in workers forked from it (so they start with the rules loaded), or itself
    when one process is enough. Linux only: elsewhere fork is unsafe (see ``start_method``).

    ``stop()`` ends it and its workers whatever state they are in; build.py calls it on every way out.
    """

    def __init__(self, start: bool = True) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, self._theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(self._theirs, self._connection), name="cfn-lint rule loader")
        if start:
            self.start()

    def start(self) -> None:
        """Fork the loader.  A caller that must stop it whatever happens keeps the object before calling this."""
        # Held while forking: a Ctrl-C or SIGTERM handled in the middle of it would interrupt an at-fork hook
        # (logging's prints a traceback then); it is handled once the fork is done, by the caller's handlers.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
        try:
            self._process.start()
        finally:
            self._theirs.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def lint(self, tasks: list, workers: int) -> Callable[[], list[tuple[int, list[Finding], float]]]:
        """Hand ``tasks`` over (once) to be linted in ``workers`` processes; the returned function waits for the results."""
        self._connection.send((tasks, workers))

        def receive() -> list[tuple[int, list[Finding], float]]:
            done = []
            for _ in tasks:
                try:
                    outcome = self._connection.recv()
                except EOFError:
                    raise RuntimeError("the cfn-lint process ended before it had linted every template") from None
                if isinstance(outcome, BaseException):
                    raise outcome
                done.append(outcome)
            return done

        return receive

    def stop(self) -> None:
        if self._process.pid is None:
            return  # never started
        # Closing first: a loader waiting for templates then reads the end of the pipe and returns, even
        # when the SIGTERM below lands in a place that swallows it (an import catching everything).
        self._connection.close()
        if self._process.is_alive():
            self._process.terminate()  # its SIGTERM handler stops its workers before it exits
        self._process.join(STOP_GRACE_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _exit_now(signum, frame) -> None:
    os._exit(128 + signum)  # no workers yet: nothing to stop, and no traceback from the middle of an import


def _stop_serving(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through the pool, which stops its workers


def _serve(connection, builds_end) -> None:
    """The loader's life: load the rules, wait for the templates, lint them, send each result back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle: it stops this process
    signal.signal(signal.SIGTERM, _exit_now)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)  # forked while the build held them
    # The fork copied the build's end of the pipe too: closed, so a build that ends without stopping this
    # process is seen as the end of the pipe, not waited for forever.
    builds_end.close()
    try:
        rules()
    except Exception:  # noqa: BLE001 - linting calls rules() again and reports the error then
        pass
    try:
        tasks, workers = connection.recv()
    except EOFError:  # the build needed no linting, or ended
        return
    signal.signal(signal.SIGTERM, _stop_serving)
    try:
        check_regions(tasks[0][3] if tasks else ())
        if workers == 1:
            for task in tasks:
                connection.send(_lint_task(task))
        else:  # results go back all at once, when the last is in: build.py waits for all of them anyway
            for outcome in _start_pool(multiprocessing.get_context("fork"), tasks, workers, load_rules=False)():
                connection.send(outcome)
    except (BrokenPipeError, EOFError):
        pass  # the build is gone
    except Exception as error:  # noqa: BLE001 - handed to the build, which raises it as linting in-process would
        _send_error(connection, error)


def _send_error(connection, error: Exception) -> None:
    try:
        connection.send(error)
    except Exception:  # noqa: BLE001 - an exception that cannot be pickled: its type and message still can
        connection.send(RuntimeError(f"{type(error).__name__}: {error}"))


def lint_stage(
    regions: Sequence[str] = DEFAULT_REGIONS, jobs: int = 1, cache: LintCache | None = None, loader: RuleLoader | None = None
) -> Stage:
    """cfn-lint over every template. Templates whose key is in ``cache`` are not linted (and when none
    needs linting, cfn-lint is not imported); identical templates within a run are linted once. With a
    ``loader``, the linting (and the check of the regions) happens in its processes, never in this one."""
    regions = tuple(regions)

    def start(templates: Sequence[Rendered]) -> Collect:
        keys = [entry_key(rendered, regions) for rendered in templates]
        results: list[Checked | None] = [None] * len(templates)
        first_with_key: dict[str, int] = {}
        for index, (rendered, key) in enumerate(zip(templates, keys, strict=True)):
            found = cache.get(key, str(rendered.path)) if cache else None
            if found is not None:
                results[index] = Checked(found, 0.0, cached=True)
            elif key not in first_with_key:
                first_with_key[key] = index
        todo = list(first_with_key.values())
        if not todo:
            return lambda: results
        if loader is None:
            check_regions(regions)
            if start_method() == "fork":
                rules()  # before the workers fork, so they share them
        pending = _lint_all([templates[i] for i in todo], regions, jobs, loader)

        def collect() -> list[Checked]:
            for index, (findings, seconds) in zip(todo, pending(), strict=True):
                results[index] = Checked(tuple(findings), seconds)
                if cache:
                    try:
                        cache.put(keys[index], findings)
                    except OSError:
                        pass  # an unwritable cache costs the next run time, never this run its result
            for index, rendered in enumerate(templates):
                if results[index] is None:  # the same content as a template linted above
                    twin = results[first_with_key[keys[index]]]
                    same = tuple(Finding(str(rendered.path), f.path, f.rule, f.message, f.level) for f in twin.findings)
                    results[index] = Checked(same, 0.0, cached=True)
            if cache and cache.wrote:
                cache.prune()
            return results

        return collect

    return Stage("lint", start)
