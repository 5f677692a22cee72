"""cfn-lint's rules load in another process while build.py renders; the lint workers fork from it.

The same findings as linting in-process; nothing started when nothing needs linting, with --no-lint or --jobs 1;
and whatever ends the build (findings, a configuration error, Ctrl-C, SIGTERM) leaves no process behind.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import build
from builder import lint
from builder.lint import RuleLoader, UnknownRegion, lint_stage
from tests.builder.test_build_cli import probe
from tests.builder.test_lint_stage import direct, findings_of, fixture_templates, run  # noqa: F401 (a fixture)
from tests.conftest import ON_SAMPLE, REPO

pytestmark = pytest.mark.skipif(lint.start_method() != "fork", reason="the loader forks: Linux only")


@pytest.fixture
def loader():
    started = RuleLoader()
    yield started
    started.stop()


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_loader_finds_what_linting_in_process_finds_in_the_same_order(fixture_templates, loader, jobs):  # noqa: F811
    assert findings_of(run(lint_stage(jobs=jobs, loader=loader), fixture_templates)) == direct(fixture_templates)


def test_an_unknown_region_is_reported_from_the_loader(fixture_templates, loader):  # noqa: F811
    with pytest.raises(UnknownRegion, match="--region us-nowhere-1"):
        run(lint_stage(["us-nowhere-1"], jobs=2, loader=loader), fixture_templates)


@pytest.fixture
def announced(monkeypatch):
    """``announced(load, when)`` makes the loader's rule load ``load``, announced by a byte down a pipe ``when`` it
    begins ("before") or has finished ("after"); it returns the wait for that byte. A fixed sleep instead would end
    before the loader gets there on a slow machine, and only cost time on a fast one."""
    read, write = os.pipe()

    def install(load, when: str):
        def announcing():
            if when == "before":
                os.write(write, b".")
            loaded = load()
            if when == "after":
                os.write(write, b".")
            return loaded

        monkeypatch.setattr(lint, "rules", announcing)  # inherited by the forked loader

        def reached() -> None:
            ready, _, _ = select.select([read], [], [], 60)
            assert ready, f"the loader never got {when} its rule load"

        return reached

    yield install
    os.close(read)
    os.close(write)


@pytest.mark.parametrize("phase", ["starting", "loading the rules", "waiting for templates"])
def test_a_loader_stops_at_once_whatever_it_is_doing(announced, phase):
    if phase == "loading the rules":  # not this process's cached rules: the loader loads its own
        reached = announced(lint.rules.__wrapped__, "before")
    else:
        reached = announced(lint.rules, "after")
    started = RuleLoader()
    if phase != "starting":
        reached()
    began = time.perf_counter()
    started.stop()
    assert time.perf_counter() - began < 2 and not started._process.is_alive()


def test_a_cold_build_lints_in_the_loader_and_never_imports_cfn_lint_itself(tmp_path):
    result = probe("--env", "dev", "--jobs", "2", "--no-cache", "--output", str(tmp_path), "--json", str(tmp_path / "r.json"))
    assert result["exit"] == 0 and result["cfnlint"] == [] and result["troposphere"]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["templates"] and not any(t["stages"]["lint"]["cached"] for t in report["templates"])


@pytest.mark.parametrize(
    ("args", "loaders"),
    [([], 1), (["--no-cache"], 1), (["--jobs", "1"], 0), (["--no-lint"], 0), ([], 0)],
    ids=["cold", "no cache", "one job", "no lint", "all cached"],
)
def test_a_loader_starts_only_when_templates_are_rendered_and_linted_by_more_than_one_process(tmp_path, monkeypatch, args, loaders):
    output = tmp_path / "out"
    if loaders == 0 and not args:  # everything cached: the first build fills the caches
        assert build.main([*ON_SAMPLE, "--env", "dev", "--output", str(output)]) == 0
    started = []

    class Counted(RuleLoader):
        def start(self):
            started.append(self)
            super().start()

    monkeypatch.setattr(build, "RuleLoader", Counted)
    assert build.main([*ON_SAMPLE, "--env", "dev", "--jobs", "2", "--output", str(output), *args]) == 0
    assert len(started) == loaders
    assert not any(loader._process.is_alive() for loader in started)


def in_session(session: int) -> list[str]:
    """Every process of the session (command lines), by /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # ended meanwhile
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(command)
    return found


def start_build(tmp_path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "build.py", *ON_SAMPLE, "--jobs", "2", "--no-cache", "--output", str(tmp_path / "out"), *args]
    return subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=interruptible
    )


def interruptible() -> None:
    """Ctrl-C as a terminal delivers it, even when the tests run in the background: a shell starts background jobs
    with SIGINT ignored, and Python then installs no KeyboardInterrupt handler of its own."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def nothing_left(session: int) -> bool:
    deadline = time.monotonic() + 5
    while in_session(session) and time.monotonic() < deadline:
        time.sleep(0.1)
    return in_session(session) == []


def wait_for_processes(process: subprocess.Popen, count: int) -> None:
    """Until the build's session holds ``count`` processes: build.py and the loader (2) while it renders, the
    lint workers forked from the loader besides (3 or more) once it lints.  Polled, not slept: a fast machine
    must not finish the build before the signal, a slow one must not be signalled before the phase."""
    deadline = time.monotonic() + 60
    while len(in_session(process.pid)) < count:
        assert process.poll() is None and time.monotonic() < deadline, "the build ended before the phase began"
        time.sleep(0.01)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("processes", [2, 3], ids=["rendering", "linting"])
def test_an_interrupted_build_leaves_no_process_and_prints_no_traceback(tmp_path, signum, code, processes):
    process = start_build(tmp_path, "--env", "staging", "--env", "production", "--env", "pipeline")
    wait_for_processes(process, processes)
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)  # a terminal's Ctrl-C reaches every process of the foreground group
    else:
        os.kill(process.pid, signum)  # what a CI runner sends to the build alone
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == code and "Traceback" not in stderr, stderr
    assert nothing_left(process.pid)


def test_a_configuration_error_exits_2_with_one_line_and_leaves_no_process(tmp_path):
    (tmp_path / "project.yaml").write_text("name: shop\nservices:\n  - name: api\n    route_path: /api\n    cpu: 3\n")
    (tmp_path / "staging.yaml").write_text("network: {}\n")
    process = start_build(tmp_path, "--parameters", str(tmp_path))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and "Traceback" not in stderr
    assert len(stderr.splitlines()) == 2 and "services[0].cpu: 3 is not accepted" in stderr
    assert nothing_left(process.pid)


def swallow_everything_while_loading() -> None:
    """A rule load that catches whatever interrupts it, as some imports do (``except BaseException``)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except BaseException:  # noqa: BLE001 - the point of the stand-in
            pass


@pytest.mark.parametrize("swallowing", [False, True])
def test_stopping_a_loader_still_loading_returns_at_once(announced, swallowing):
    """A configuration error stops the loader while it may still be importing cfn-lint: stop() must not wait on it."""
    reached = announced(swallow_everything_while_loading if swallowing else lint.rules.__wrapped__, "before")
    started = RuleLoader()
    reached()
    began = time.monotonic()
    started.stop()
    assert time.monotonic() - began < 2
    assert not started._process.is_alive()
