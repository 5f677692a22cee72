"""Rewrite the README's parameter reference from the code: ``python -m builder.docs``."""

from __future__ import annotations

from pathlib import Path

from templates.config import reference

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- reference:start -->\n", "<!-- reference:end -->"


def updated(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + START + reference() + END + tail


if __name__ == "__main__":
    README.write_text(updated(README.read_text()))
    print(f"updated the parameter reference in {README.name}")
