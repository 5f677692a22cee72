"""The README's promises that code can check: short, the two commands first, a first deployment in order."""

from __future__ import annotations

import re

from tests.conftest import REPO

README = (REPO / "README.md").read_text()
LINES = README.splitlines()


def test_readme_is_at_most_300_lines():
    assert len(LINES) <= 300


def test_the_first_40_lines_say_what_this_is_and_how_to_start():
    opening = "\n".join(LINES[:40])
    assert "CloudFormation" in opening and "pipeline" in opening and "blue/green" in opening
    assert "Python 3.11" in opening
    first_block = opening.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in first_block.splitlines()]
    assert "python build.py" in commands and "tox" in commands
    assert commands.index("pip install -r requirements.txt") < commands.index("python build.py")


def test_the_tox_the_readme_installs_is_the_one_ci_installs():
    pinned = re.findall(r"tox==([\d.]+)", README)
    assert pinned and set(pinned) == set(re.findall(r"tox==([\d.]+)", (REPO / ".ci" / "run").read_text()))
    assert "exec tox" in (REPO / ".ci" / "run").read_text()


def test_the_first_deployment_goes_in_order():
    section = README.split("## First deployment, step by step", 1)[1].split("\n## ", 1)[0]
    steps = re.findall(r"^\*\*(\d)\. ([^*]+)\*\*", section, flags=re.M)
    assert [int(number) for number, _ in steps] == list(range(len(steps)))
    titles = " | ".join(title.lower() for _, title in steps)
    order = ["bootstrap", "pipeline target", "source connection in the console", "first pipeline run", "staging", "production"]
    positions = [titles.find(word) for word in order]
    assert -1 not in positions and positions == sorted(positions), titles
    assert "python deploy.py --bootstrap" in section and "python deploy.py --env pipeline" in section


def test_every_python_command_in_the_readme_names_a_file_or_module_that_exists():
    for script in set(re.findall(r"python (\w+\.py)\b", README)):
        assert (REPO / script).is_file(), script
    for module in set(re.findall(r"python -m ([\w.]+)", README)) - {"pytest", "venv"}:
        path = REPO / module.replace(".", "/")
        assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), module
