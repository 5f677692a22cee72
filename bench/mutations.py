#!/usr/bin/env python3
"""Mutation testing of the template modules: which one-place changes do the non-snapshot tests catch?

    python bench/mutations.py                    # every mutant, 2 workers (about an hour on 2 cores)
    python bench/mutations.py --sample 150       # a fixed random sample (seed 0), the same one every run
    python bench/mutations.py --only service/    # the mutants of files whose path contains this (or path:line)
    python bench/mutations.py --list             # the mutants, without running anything
    python bench/mutations.py --json out.json    # also every result; later: --survivors-of out.json reruns the survivors

Each mutant changes one place of one module of ``templates/stacks/**`` or ``templates/iam/policies.py``:
a number (+1, and to 0), True <-> False, a string given to a template property (a known opposite such as
HTTPS -> HTTP, else the text with an X appended), Allow <-> Deny, a comparison operator, and <-> or, one
element of a list, tuple, set or dict dropped, one property keyword argument of a call dropped.  Docstrings,
annotations, the messages of ``raise`` and the text of the ``FOR_PEOPLE`` properties (descriptions) are left
alone.

For each mutant, in a copy of the repository made once per worker (the repository itself is never written):

1. render every target of examples/shop, examples/complete and examples/fleet, and the bootstrap stack: an exception is
   *killed by crash*; JSON byte-identical to the unmutated rendering is *equivalent* (not run: on these
   configurations the change makes no difference; tests with other configurations might still see one);
2. else run the non-snapshot template tests with ``-x``, ``tests/test_invariants*.py`` first and then
   ``tests/templates`` without ``test_snapshots.py`` (two runs: the second only if the first passes): a
   failure is *killed*, a pass *survived*.

The file is restored after each mutant, and the copies are deleted on exit, Ctrl-C included.  Printed: mutants
generated, equivalent, killed (by a test, and by crash), survived, the kill ratio over the non-equivalent
mutants, and every survivor as ``file:line  change``.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import dataclasses
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("templates/stacks/**/*.py", "templates/iam/policies.py")
# the examples, not parameters/ (the user's): the sample, every optional key on, and the different fleet
CONFIGURATIONS = ("examples/shop", "examples/complete", "examples/fleet")
PYTEST_TIMEOUT_SECONDS = 900
# Properties that are text for people: neither dropped nor changed (a mutant there would only survive, harmlessly).
FOR_PEOPLE = ("Description", "AlarmDescription", "Label")

# Strings with a plausible opposite: a mutant that still renders valid CloudFormation, only a wrong one.
OPPOSITES = {
    "Allow": "Deny",
    "Deny": "Allow",
    "HTTPS": "HTTP",
    "HTTP": "HTTPS",
    "DISABLED": "ENABLED",
    "ENABLED": "DISABLED",
    "Enabled": "Disabled",
    "Retain": "Delete",
    "Delete": "Retain",
    "internet-facing": "internal",
    "ROLLBACK": "CONTINUE_DEPLOYMENT",
    "BLUE_GREEN": "ROLLING",
    "ECS": "CODE_DEPLOY",
    "true": "false",
    "false": "true",
    "0.0.0.0/0": "10.0.0.0/8",
    "tcp": "-1",
    "awslogs": "none",
    "AES256": "aws:kms",
    "KMS": "AES256",
    "IMMUTABLE": "MUTABLE",
}
COMPARISONS = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


def drop_span(items: list[tuple[int, int, str]], index: int) -> tuple[int, int]:
    """The text to cut to drop ``items[index]`` (start, end, text) from a comma-separated list: with the comma that
    follows it, or else the one before it."""
    start, end, _ = items[index]
    if index + 1 < len(items):
        return start, items[index + 1][0]
    if index > 0:
        return items[index - 1][1], end
    return start, end


@dataclasses.dataclass(frozen=True, order=True)
class Mutant:
    file: str
    line: int
    column: int
    change: str
    start: int = dataclasses.field(compare=False)
    end: int = dataclasses.field(compare=False)
    replacement: str = dataclasses.field(compare=False)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def apply(self, source: bytes) -> bytes:
        return source[: self.start] + self.replacement.encode() + source[self.end :]


# --- generating mutants -----------------------------------------------------------------------


class Finder(ast.NodeVisitor):
    """The mutants of one module, from its syntax tree; offsets are byte offsets into its source."""

    def __init__(self, file: str, source: bytes):
        self.file, self.source = file, source
        self.line_starts = [0]
        for line in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.found: list[Mutant] = []
        self.property_values: set[int] = set()  # id() of nodes given to a template property
        self.people: set[int] = set()  # id() of the values of FOR_PEOPLE properties

    def offset(self, line: int, column: int) -> int:
        return self.line_starts[line - 1] + column

    def span(self, node) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def text(self, node) -> str:
        start, end = self.span(node)
        return self.source[start:end].decode()

    def add(self, node, change: str, start: int, end: int, replacement: str) -> None:
        self.found.append(Mutant(self.file, node.lineno, node.col_offset, change, start, end, replacement))

    def replace(self, node, replacement: str, change: str) -> None:
        if node.lineno == node.end_lineno:  # one line changed
            self.add(node, change, *self.span(node), replacement)

    # What is never mutated: docstrings, annotations, error messages, __all__.
    def visit_body(self, body: list) -> None:
        for index, statement in enumerate(body):
            is_docstring = index == 0 and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
            if not is_docstring:
                self.visit(statement)

    def visit_Module(self, node):
        self.visit_body(node.body)

    def visit_ClassDef(self, node):
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit_body(node.body)

    def visit_FunctionDef(self, node):
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        self.visit_body(node.body)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)

    def visit_Raise(self, node):
        pass

    def visit(self, node):
        if id(node) not in self.people:
            super().visit(node)

    def visit_ImportFrom(self, node):
        pass

    def visit_Assign(self, node):
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        self.generic_visit(node)

    # Constants.
    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool):
            self.replace(node, str(not value), f"{value} -> {not value}")
        elif isinstance(value, (int, float)):
            self.replace(node, repr(value + 1), f"{value!r} -> {value + 1!r}")
            if value != 0:
                self.replace(node, repr(type(value)(0)), f"{value!r} -> {type(value)(0)!r}")
        elif isinstance(value, str) and (id(node) in self.property_values or value in ("Allow", "Deny")):
            changed = OPPOSITES.get(value, value + "X")
            self.replace(node, repr(changed), f"{value!r} -> {changed!r}")

    def visit_Name(self, node):
        if node.id in ("Allow", "Deny") and isinstance(node.ctx, ast.Load):
            other = OPPOSITES[node.id]
            self.replace(node, repr(other), f"{node.id} -> {other!r}")

    # Operators.
    def visit_Compare(self, node):
        for index, op in enumerate(node.ops):
            swapped = COMPARISONS[type(op)]()
            mutated = ast.Compare(left=node.left, ops=[*node.ops[:index], swapped, *node.ops[index + 1 :]], comparators=node.comparators)
            self.replace(node, ast.unparse(mutated), f"{ast.unparse(node)} -> {ast.unparse(mutated)}")
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        mutated = ast.BoolOp(op=ast.Or() if isinstance(node.op, ast.And) else ast.And(), values=node.values)
        self.replace(node, f"({ast.unparse(mutated)})", f"{ast.unparse(node)} -> {ast.unparse(mutated)}")
        self.generic_visit(node)

    # Dropping one element, or one property of a call.
    def drop(self, node, items: list[tuple[int, int, str]], what: str, keep_a_tuple: bool = False) -> None:
        """``items``: (start, end, text) of each element in order; the mutant deletes one element and its comma."""
        for index, (start, _, text) in enumerate(items):
            if keep_a_tuple and len(items) == 2:
                other = items[1 - index][2]
                self.add_at(start, f"{what} drops {short(text)}", *self.span(node), f"({other},)")
                continue
            self.add_at(start, f"{what} drops {short(text)}", *drop_span(items, index), "")

    def add_at(self, offset: int, change: str, start: int, end: int, replacement: str) -> None:
        line = next(i for i, s in enumerate(self.line_starts) if s > offset)
        column = offset - self.line_starts[line - 1]
        self.found.append(Mutant(self.file, line, column, change, start, end, replacement))

    def elements(self, nodes) -> list[tuple[int, int, str]]:
        return [(*self.span(n), self.text(n)) for n in nodes]

    def visit_List(self, node):
        if isinstance(node.ctx, ast.Load) and not any(isinstance(e, ast.Starred) for e in node.elts):
            self.drop(node, self.elements(node.elts), "list")
        self.generic_visit(node)

    def visit_Set(self, node):
        self.drop(node, self.elements(node.elts), "set")
        self.generic_visit(node)

    def visit_Tuple(self, node):
        if isinstance(node.ctx, ast.Load) and len(node.elts) > 1 and not any(isinstance(e, ast.Starred) for e in node.elts):
            self.drop(node, self.elements(node.elts), "tuple", keep_a_tuple=True)
        self.generic_visit(node)

    def visit_Dict(self, node):
        if all(key is not None for key in node.keys):
            items = [(self.span(k)[0], self.span(v)[1], self.text(k)) for k, v in zip(node.keys, node.values, strict=True)]
            self.drop(node, items, "dict")
        for value in node.values:
            if isinstance(value, ast.Constant):
                self.property_values.add(id(value))
        self.generic_visit(node)

    def visit_Call(self, node):
        arguments = sorted([*node.args, *node.keywords], key=lambda a: (a.lineno, a.col_offset))
        items = [(*self.span(a), self.text(a)) for a in arguments]
        for index, argument in enumerate(arguments):
            if isinstance(argument, ast.keyword) and argument.arg and argument.arg[0].isupper():
                if argument.arg in FOR_PEOPLE:
                    self.people.add(id(argument.value))
                    continue
                self.mark_property_value(argument.value)
                self.add_at(items[index][0], f"drops {argument.arg}=", *drop_span(items, index), "")
        self.generic_visit(node)

    def mark_property_value(self, value) -> None:
        self.property_values.add(id(value))
        if isinstance(value, (ast.List, ast.Tuple)):
            self.property_values.update(id(e) for e in value.elts)


def short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def source_files(root: Path) -> list[Path]:
    return sorted({p for pattern in SOURCES for p in root.glob(pattern)})


def mutants_of(root: Path) -> list[Mutant]:
    found = []
    for path in source_files(root):
        source = path.read_bytes()
        finder = Finder(str(path.relative_to(root)), source)
        finder.visit(ast.parse(source))
        for mutant in finder.found:
            try:
                ast.parse(mutant.apply(source))
            except SyntaxError:
                continue
            found.append(mutant)
    return sorted(set(found))


# --- running them -----------------------------------------------------------------------------

# Run inside a copy: every target of each configuration and the bootstrap stack, as one digest.
RENDER = """
import hashlib, sys
from pathlib import Path
from templates import config
from templates.render import render, to_json
from templates.stacks import bootstrap
digest = hashlib.sha256(to_json(bootstrap.build().to_dict()).encode())
for directory in sys.argv[1:]:
    for name in config.target_names(Path(directory)):
        for file, template in render(config.load_target(Path(directory), name)).items():
            digest.update(f"{directory}/{name}/{file}".encode())
            digest.update(to_json(template).encode())
print(digest.hexdigest())
"""


def test_files(root: Path) -> list[list[str]]:
    """The tests, in two runs: the invariants (most mutants die there, and they collect in a second), then the
    template tests (whose collection alone takes several)."""
    invariants = sorted(root.glob("tests/test_invariants*.py"))
    templates = sorted(p for p in root.glob("tests/templates/test_*.py") if p.name != "test_snapshots.py")
    return [[str(p.relative_to(root)) for p in group] for group in (invariants, templates)]


def environment(root: Path) -> dict[str, str]:
    # No bytecode: a mutant of the same size written within a second would otherwise run a stale .pyc.
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(root), "AWS_DEFAULT_REGION": "us-east-1"}


def copy_repository(destination: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@dataclasses.dataclass
class Result:
    mutant: Mutant
    outcome: str  # equivalent, killed, crashed, timeout, survived
    detail: str = ""
    seconds: float = 0.0


class Worker:
    """One copy of the repository; mutates one file of it at a time and always puts it back."""

    def __init__(self, root: Path):
        self.root = root
        self.env = environment(root)
        self.tests = test_files(root)
        self.process: subprocess.Popen | None = None
        self.stopped = False

    def call(self, command: list[str], timeout: float) -> subprocess.CompletedProcess:
        """``command`` in the copy; ``stop`` ends it at once (its own process group, so pytest's children too)."""
        if self.stopped:
            raise KeyboardInterrupt
        process = subprocess.Popen(
            command, cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        self.process = process
        if self.stopped:  # stopped while it started
            self.signal_group(process, signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=timeout)
        except BaseException:  # over time, or Ctrl-C in the main thread
            self.stop_process(process)
            raise
        finally:
            self.process = None
        if self.stopped:
            raise KeyboardInterrupt
        return subprocess.CompletedProcess(command, process.returncode, out, err)

    @staticmethod
    def signal_group(process: subprocess.Popen, number: int) -> None:
        try:
            os.killpg(process.pid, number)
        except ProcessLookupError:
            pass

    def stop_process(self, process: subprocess.Popen) -> None:
        """End ``process`` and its children; by the thread that waits on it."""
        self.signal_group(process, signal.SIGTERM)
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.signal_group(process, signal.SIGKILL)
            process.communicate()

    def stop(self) -> None:
        """From another thread: end the running command; the worker's thread then raises KeyboardInterrupt."""
        self.stopped = True
        process = self.process
        if process is not None:
            self.signal_group(process, signal.SIGTERM)

    def render(self) -> tuple[str | None, str]:
        done = self.call([sys.executable, "-c", RENDER, *CONFIGURATIONS], timeout=300)
        if done.returncode:
            lines = done.stderr.strip().splitlines()
            return None, lines[-1] if lines else f"exit status {done.returncode}"
        return done.stdout.strip(), ""

    def pytest(self) -> tuple[int, str]:
        """(pytest's exit status, the first failure or the summary): the first run that fails, or the last."""
        for group in self.tests:
            command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *group]
            done = self.call(command, timeout=PYTEST_TIMEOUT_SECONDS)
            lines = done.stdout.strip().splitlines()
            failed = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
            if done.returncode:
                return done.returncode, (failed or lines or [""])[0 if failed else -1]
        return 0, (lines or [""])[-1]

    def run(self, mutant: Mutant, baseline: str) -> Result:
        path = self.root / mutant.file
        original = path.read_bytes()
        started = time.perf_counter()
        try:
            path.write_bytes(mutant.apply(original))
            digest, error = self.render()
            if digest is None:
                return Result(mutant, "crashed", error, time.perf_counter() - started)
            if digest == baseline:
                return Result(mutant, "equivalent", "", time.perf_counter() - started)
            try:
                status, detail = self.pytest()
            except subprocess.TimeoutExpired:
                return Result(mutant, "timeout", f"pytest ran over {PYTEST_TIMEOUT_SECONDS} s", time.perf_counter() - started)
            outcome = "survived" if status == 0 else "killed"
            return Result(mutant, outcome, detail, time.perf_counter() - started)
        finally:
            path.write_bytes(original)


def select(mutants: list[Mutant], only: list[str], sample: int | None, seed: int, survivors_of: Path | None = None) -> list[Mutant]:
    if survivors_of is not None:
        survived = {(r["where"], r["change"]) for r in json.loads(survivors_of.read_text()) if r["outcome"] == "survived"}
        mutants = [m for m in mutants if (m.where, m.change) in survived]
    if only:
        mutants = [m for m in mutants if any(o in m.file or m.where.endswith(o) for o in only)]
    if sample is not None and sample < len(mutants):
        mutants = sorted(random.Random(seed).sample(mutants, sample))
    return mutants


def report(generated: int, selected: int, results: list[Result], out) -> None:
    count = {kind: sum(r.outcome == kind for r in results) for kind in ("equivalent", "killed", "crashed", "timeout", "survived")}
    considered = len(results) - count["equivalent"]
    caught = count["killed"] + count["crashed"] + count["timeout"]
    print(f"mutants generated: {generated}", file=out)
    if selected != generated:
        print(f"selected:          {selected}", file=out)
    if len(results) != selected:
        print(f"run:               {len(results)}", file=out)
    print(f"equivalent:        {count['equivalent']} (rendered JSON byte-identical: not tested)", file=out)
    print(f"killed by a test:  {count['killed']}", file=out)
    print(f"killed by crash:   {count['crashed']} (rendering raised)", file=out)
    if count["timeout"]:
        print(f"killed by timeout: {count['timeout']}", file=out)
    print(f"survived:          {count['survived']}", file=out)
    if considered:
        print(f"kill ratio:        {caught}/{considered} = {100 * caught / considered:.1f}% of the non-equivalent mutants", file=out)
        tested = considered - count["crashed"]
        if tested:
            print(f"  by tests alone:  {count['killed'] + count['timeout']}/{tested} = "
                  f"{100 * (count['killed'] + count['timeout']) / tested:.1f}% of those that render", file=out)
    survivors = [r for r in results if r.outcome == "survived"]
    if survivors:
        print("survivors:", file=out)
        for r in survivors:
            print(f"  {r.mutant.where}  {r.mutant.change}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, metavar="N", help="a fixed random sample of N mutants")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT", help="mutants of files containing TEXT, or at path:line")
    parser.add_argument("--jobs", type=int, default=2, help="workers, each with its own copy of the repository (default 2)")
    parser.add_argument("--survivors-of", type=Path, metavar="FILE", help="only the mutants that survived in FILE (an earlier --json)")
    parser.add_argument("--list", action="store_true", help="list the selected mutants and stop")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every result to FILE")
    args = parser.parse_args(argv)

    everything = mutants_of(REPO)
    chosen = select(everything, args.only, args.sample, args.seed, args.survivors_of)
    if args.list:
        for mutant in chosen:
            print(f"{mutant.where}  {mutant.change}")
        print(f"{len(chosen)} of {len(everything)} mutants", file=sys.stderr)
        return 0

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill cleans up as a Ctrl-C does
    results: dict[Mutant, Result] = {}
    lock = threading.Lock()
    interrupted = threading.Event()
    with tempfile.TemporaryDirectory(prefix="mutations-") as scratch:
        workers = [Worker(copy_repository(Path(scratch) / f"copy{i}")) for i in range(max(1, args.jobs))]
        try:
            baseline, error = workers[0].render()
            if baseline is None:
                print(f"the unmutated templates do not render: {error}", file=sys.stderr)
                return 2
            status, detail = workers[0].pytest()
        except KeyboardInterrupt:
            print("interrupted before the first mutant", file=sys.stderr)
            return 130
        if status:
            print(f"the tests fail without any mutation: {detail}", file=sys.stderr)
            return 2
        print(f"{len(chosen)} mutants of {len(everything)}; {len(workers)} workers", file=sys.stderr)
        queue = list(reversed(chosen))

        def work(worker: Worker) -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    mutant = queue.pop()
                try:
                    result = worker.run(mutant, baseline)
                except KeyboardInterrupt:  # stopped: not a result
                    return
                with lock:
                    if interrupted.is_set():  # its subprocesses saw the Ctrl-C too: not a result
                        return
                    results[mutant] = result
                    print(
                        f"[{len(results)}/{len(chosen)}] {result.outcome:10} {mutant.where}  {mutant.change}"
                        + (f"  ({short(result.detail, 90)})" if result.detail and result.outcome != "survived" else ""),
                        file=sys.stderr,
                        flush=True,
                    )

        pool = concurrent.futures.ThreadPoolExecutor(len(workers))
        try:
            futures = [pool.submit(work, w) for w in workers]
            while not all(f.done() for f in futures):
                concurrent.futures.wait(futures, timeout=1)  # wakes up for Ctrl-C
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            interrupted.set()
            with lock:
                queue.clear()
            for worker in workers:
                worker.stop()
            print("interrupted: the figures below are of the mutants finished so far", file=sys.stderr)
        finally:
            pool.shutdown(wait=True)

    ordered = [results[m] for m in chosen if m in results]
    report(len(everything), len(chosen), ordered, sys.stdout)
    if args.json:
        rows = [
            {"where": r.mutant.where, "change": r.mutant.change, "outcome": r.outcome, "detail": r.detail, "seconds": round(r.seconds, 1)}
            for r in ordered
        ]
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
