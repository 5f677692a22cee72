"""The layout of templates/: configuration, IAM, stacks and rendering, each importing only the layers below it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

TEMPLATES = REPO / "templates"
# What each part of templates/ may import from templates/: the layers below it, and itself.
LAYERS = {
    "config": {"config"},
    "names": set(),
    "iam": {"config", "iam", "names"},
    "stacks": {"config", "iam", "names", "stacks"},
    "render": {"config", "names", "stacks"},
}


def part(path: Path) -> str:
    return path.relative_to(TEMPLATES).parts[0].removesuffix(".py")


def imported_parts(path: Path) -> set[str]:
    """The parts of templates/ that one module imports (``from templates.x import ...``, ``from templates import x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "templates":
            dotted = node.module.split(".")
            found |= {dotted[1]} if len(dotted) > 1 else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("templates.")}
    return found


MODULES = sorted(p for p in TEMPLATES.rglob("*.py") if p.name != "__init__.py" or p.parent != TEMPLATES)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(TEMPLATES)) for p in MODULES])
def test_each_module_imports_only_the_layers_below_its_own(path):
    beyond = sorted(imported_parts(path) - LAYERS[part(path)])
    assert not beyond, f"{path.relative_to(REPO)} imports {beyond}"


def test_every_part_of_templates_has_a_layer():
    assert {part(p) for p in MODULES} == set(LAYERS)


def test_the_configuration_loads_without_troposphere_or_awacs():
    code = (
        "import sys; from pathlib import Path; import templates.config as c; "
        "[c.load_target(Path('parameters'), n) for n in c.target_names(Path('parameters'))]; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'troposphere', 'awacs', 'cfnlint'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
