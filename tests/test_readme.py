"""The README's promises that code can check."""

from __future__ import annotations

from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_readme_opens_with_the_build_and_test_commands():
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    assert "build.py" in first_block and "tox" in first_block


def test_ci_runs_the_readme_test_command():
    assert "tox" in (REPO / ".ci" / "run").read_text()
