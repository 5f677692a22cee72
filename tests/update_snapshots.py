"""Regenerate the golden snapshots: ``python -m tests.update_snapshots``.

Every configuration under examples/ is rendered into ``tests/snapshots/<example>/<target>/``. Review the diff
(``git diff tests/snapshots``) before committing it: a snapshot change is a change to what would be deployed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from templates.config import load_target, target_names
from templates.render import render, to_json

REPO = Path(__file__).resolve().parents[1]
SNAPSHOTS = REPO / "tests" / "snapshots"
EXAMPLES = tuple(sorted(p.parent for p in (REPO / "examples").glob("*/project.yaml")))


def render_all() -> dict[tuple[str, str], dict[str, dict]]:
    """(example, target) -> its rendered templates, for every target of every example a build renders."""
    return {(example.name, target): render(load_target(example, target)) for example in EXAMPLES for target in target_names(example)}


def main() -> None:
    everything = render_all()  # before removing anything, so a rendering error leaves the snapshots alone
    shutil.rmtree(SNAPSHOTS, ignore_errors=True)
    for (example, target), rendered in everything.items():
        directory = SNAPSHOTS / example / target
        directory.mkdir(parents=True)
        for name, template in rendered.items():
            (directory / name).write_text(to_json(template), encoding="utf-8")
    print(f"snapshots written to {SNAPSHOTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
