"""Every relative link in the README and docs/ resolves: the file exists, and so does the #anchor in it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
# [text](target) or [text](target "title"); images too. The text may hold `code`.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)


def prose(text: str) -> str:
    """The text without fenced code blocks, which hold no links."""
    return FENCE.sub("", text)


def links(text: str) -> list[str]:
    text = prose(text)
    found = INLINE_LINK.findall(CODE_SPAN.sub("``", text)) + REFERENCE_DEFINITION.findall(text)
    return [target for target in found if not re.match(r"[a-z][a-z0-9+.-]*:", target, re.I)]  # http:, mailto:, ...


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    # HTML tags are markup, except inside `code`, where <target> is text.
    parts = re.split(r"(`[^`]*`)", text)
    text = "".join(part.strip("`") if part.startswith("`") else re.sub(r"<[^>]+>", "", part) for part in parts)
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = prose(path.read_text())
    found: set[str] = set(HTML_ANCHOR.findall(text))
    counts: dict[str, int] = {}
    for _, title in HEADING.findall(text):
        base = slug(title)
        found.add(base if base not in counts else f"{base}-{counts[base]}")
        counts[base] = counts.get(base, 0) + 1
    return found


def broken(page: Path) -> list[str]:
    problems = []
    for target in links(page.read_text()):
        location, _, fragment = target.partition("#")
        resolved = (page.parent / unquote(location)).resolve() if location else page
        if not resolved.exists():
            problems.append(f"{page.relative_to(REPO)}: {target}: no such file")
        elif fragment and resolved.suffix == ".md" and unquote(fragment) not in anchors(resolved):
            problems.append(f"{page.relative_to(REPO)}: {target}: no heading #{fragment} in {resolved.relative_to(REPO)}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    assert broken(page) == []


def test_the_checker_finds_broken_links_and_anchors(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    (tmp_path / "other.md").write_text("# Other page\n\n## The `<target>.yaml` files, again\n\n## Twice\n\n## Twice\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md) [fine anchor](other.md#the-targetyaml-files-again) [second](other.md#twice-1) [self](#page)\n"
        "[missing file](nowhere.md) [missing anchor](other.md#elsewhere) [external](https://example.com/x.md)\n"
        "`[not a link](nowhere-either.md)`\n\n```\n[in code](nowhere-at-all.md)\n```\n"
    )
    assert broken(page) == ["page.md: nowhere.md: no such file", "page.md: other.md#elsewhere: no heading #elsewhere in other.md"]


@pytest.mark.parametrize(
    "heading, anchor",
    [
        ("A blue/green deployment, with the hook", "a-bluegreen-deployment-with-the-hook"),
        ("`parameters/<target>.yaml`", "parameterstargetyaml"),
        ('Actions granted on `Resource: "*"`', "actions-granted-on-resource-"),
        ("First deployment, step by step", "first-deployment-step-by-step"),
    ],
)
def test_anchors_follow_githubs_rules(heading, anchor):
    assert slug(heading) == anchor
