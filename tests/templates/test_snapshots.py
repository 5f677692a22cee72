"""Golden snapshots of every rendered template of every example (examples/shop, examples/fleet), compared as dicts.

On a difference the failure lists each resource, parameter or output that was
added, removed or changed.  Regenerate with ``python -m tests.update_snapshots``.
"""

from __future__ import annotations

import json

import pytest

from tests.update_snapshots import SNAPSHOTS, render_all

RENDERED = render_all()
CASES = [(f"{example}/{target}", name) for (example, target), files in RENDERED.items() for name in files]


def section_diff(expected: dict, actual: dict) -> list[str]:
    lines = []
    for section in sorted(set(expected) | set(actual)):
        old, new = expected.get(section), actual.get(section)
        if old == new:
            continue
        if not (isinstance(old, dict) and isinstance(new, dict)):
            lines.append(f"  {section}: changed")
            continue
        for key in sorted(set(old) | set(new)):
            if key not in old:
                lines.append(f"  {section}.{key}: added")
            elif key not in new:
                lines.append(f"  {section}.{key}: removed")
            elif old[key] != new[key]:
                lines.append(f"  {section}.{key}: changed")
    return lines


@pytest.mark.parametrize("target, name", CASES, ids=[f"{t}/{n}" for t, n in CASES])
def test_example_template_matches_its_snapshot(target, name):
    path = SNAPSHOTS / target / name
    assert path.is_file(), f"no snapshot {path}; run python -m tests.update_snapshots"
    expected = json.loads(path.read_text())
    actual = RENDERED[tuple(target.split("/"))][name]
    if expected != actual:
        diff = "\n".join(section_diff(expected, actual))
        pytest.fail(f"{target}/{name} differs from its snapshot:\n{diff}\nregenerate with: python -m tests.update_snapshots")


def test_no_snapshot_is_left_without_a_template():
    on_disk = {(f"{p.parent.parent.name}/{p.parent.name}", p.name) for p in SNAPSHOTS.glob("*/*/*.json")}
    assert on_disk == set(CASES)


def test_the_diff_names_what_changed():
    old = {"Resources": {"A": {"Type": "x"}, "B": {"Type": "y"}}, "Outputs": {"O": 1}}
    new = {"Resources": {"A": {"Type": "z"}, "C": {"Type": "y"}}, "Outputs": {"O": 1}}
    assert section_diff(old, new) == ["  Resources.A: changed", "  Resources.B: removed", "  Resources.C: added"]
