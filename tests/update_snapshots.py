"""Regenerate the golden snapshots: ``python -m tests.update_snapshots``.

Review the diff (``git diff tests/snapshots``) before committing it: a
snapshot change is a change to what would be deployed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from templates.config import load_target, target_names
from templates.render import render, to_json

REPO = Path(__file__).resolve().parents[1]
SNAPSHOTS = REPO / "tests" / "snapshots"
PARAMETERS = REPO / "parameters"


def render_all() -> dict[str, dict[str, dict]]:
    """Every target a build renders: each environment, and the pipeline."""
    return {target: render(load_target(PARAMETERS, target)) for target in target_names(PARAMETERS)}


def main() -> None:
    everything = render_all()  # before removing anything, so a rendering error leaves the snapshots alone
    shutil.rmtree(SNAPSHOTS, ignore_errors=True)
    for target, rendered in everything.items():
        directory = SNAPSHOTS / target
        directory.mkdir(parents=True)
        for name, template in rendered.items():
            (directory / name).write_text(to_json(template), encoding="utf-8")
    print(f"snapshots written to {SNAPSHOTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
