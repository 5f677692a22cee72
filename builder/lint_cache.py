"""cfn-lint's findings kept by content, so an unchanged template is not linted again.

An entry's key is a SHA-256 over everything the findings depend on: this cache's format, cfn-lint's
version (its rules and the resource schemas it ships), the regions, the template's text, and the text
of every local template it names as a nested stack. cfn-lint reads those children: E3043 compares the
parameters a parent passes with the child's, and ``GetAtt Child.Outputs.X`` is checked against the
child's outputs. The file name is not part of the key (findings are stored without it and given the
current one on reading), so the same template in another output directory is a hit too.

Concurrent runs may share the directory: an entry is written to a temporary file and renamed over its
name (``os.replace`` is atomic), so a reader sees a whole entry or none. An entry that cannot be read
or does not have the expected shape is a miss, and is rewritten after linting.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

from builder.files import write_atomically
from builder.stages import Finding, Rendered

FORMAT = 1
# Nested-stack resource types and the property naming the child template (as cfn-lint's E3043 reads them).
NESTED_LOCATIONS = {"AWS::CloudFormation::Stack": "TemplateURL", "AWS::Serverless::Application": "Location"}
REMOTE_PREFIXES = ("http://", "https://", "s3://")
# Entries not used for this long are removed when a run writes new ones, so the directory stays small.
MAX_AGE_SECONDS = 30 * 24 * 3600
FINDING_FIELDS = ("path", "rule", "message", "level")


@cache
def cfn_lint_version() -> str:
    """Read from the installed distribution's metadata: importing cfn-lint would cost about a second."""
    from importlib.metadata import version

    return version("cfn-lint")


def _strings(value) -> Iterator[str]:
    """Every string a property value may take, through Fn::If's branches (not its condition's name)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict) and isinstance(value.get("Fn::If"), list):
        yield from _strings(value["Fn::If"][1:])
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def local_children(path: Path, template: dict) -> list[Path]:
    """The local files a template names as nested stacks, resolved as cfn-lint resolves them."""
    children = set()
    resources = template.get("Resources")
    for body in resources.values() if isinstance(resources, dict) else ():
        prop = NESTED_LOCATIONS.get(body.get("Type")) if isinstance(body, dict) else None
        properties = body.get("Properties") if prop else None
        if not isinstance(properties, dict):
            continue
        for location in _strings(properties.get(prop)):
            if not location.startswith(REMOTE_PREFIXES):
                children.add(Path(os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), location))))
    return sorted(children)


def _digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def entry_key(rendered: Rendered, regions: Sequence[str]) -> str:
    children = {}
    for child in local_children(rendered.path, rendered.template):
        try:
            children[child.name] = _digest(child.read_bytes())
        except OSError:
            children[child.name] = None  # cfn-lint skips a child it cannot read; so must the key
    material = {
        "format": FORMAT,
        "cfn-lint": cfn_lint_version(),
        "regions": list(regions),
        "template": _digest(rendered.text),
        "children": children,
    }
    return _digest(json.dumps(material, sort_keys=True))


class LintCache:
    """Findings by key, one small JSON file per entry under ``directory``."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.wrote = False

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.findings"  # not .json: tools that scan the build for templates must not see them

    def get(self, key: str, file: str) -> tuple[Finding, ...] | None:
        entry = self._entry(key)
        try:
            stored = json.loads(entry.read_text(encoding="utf-8"))
            findings = tuple(Finding(file=file, **{name: item[name] for name in FINDING_FIELDS}) for item in stored["findings"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, half-written by an older tool, or corrupt: lint again and rewrite
        try:
            os.utime(entry)  # marks it as used, for pruning
        except OSError:
            pass
        return findings

    def put(self, key: str, findings: Sequence[Finding]) -> None:
        body = {"findings": [{name: getattr(f, name) for name in FINDING_FIELDS} for f in findings]}
        write_atomically(self._entry(key), json.dumps(body))
        self.wrote = True

    def prune(self, now: float | None = None) -> None:
        """Remove entries unused for ``MAX_AGE_SECONDS``, and temporary files a killed run left."""
        oldest = (now or time.time()) - MAX_AGE_SECONDS
        for entry in self.directory.glob("*/*"):
            try:
                if entry.stat().st_mtime < oldest:
                    entry.unlink()
            except OSError:
                pass  # another run removed or replaced it
