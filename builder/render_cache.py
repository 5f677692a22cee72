"""The rendered templates of an unchanged configuration, reused without rendering or importing the templates.

Rendering is a pure function of the parameter files and the code (no I/O, no environment: DESIGN §4).
An entry is found by the parameter directory's files (names and content), the targets asked for and
the output directory; it is used only when it also still matches:
- the source of every project module the rendering imported (listed in the entry when it was written),
- the versions of Python, troposphere, awacs and cfn-lint (the deploy roles read cfn-lint's schemas),
- every template it lists, present in the output directory with the recorded content, and no other.
Entries are written whole (temporary file, then ``os.replace``); anything unreadable is a miss.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from builder.files import write_atomically
from builder.stages import Rendered

REPO = Path(__file__).resolve().parents[1]
FORMAT = 1
PACKAGES = ("troposphere", "awacs", "cfn-lint", "PyYAML")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _versions() -> dict[str, str]:
    found = {"python": sys.version}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = ""
    return found


def _entry(parameters: Path, names: Sequence[str], output: Path) -> Path | None:
    try:
        files = sorted((p.name, _digest(p.read_bytes())) for p in parameters.iterdir() if p.suffix in (".yaml", ".yml"))
    except OSError:
        return None  # the full path reports a missing directory
    material = {"format": FORMAT, "parameters": files, "targets": list(names), "output": str(output.resolve())}
    return output / ".cache" / "render" / f"{_digest(json.dumps(material, sort_keys=True).encode())}.entry"  # not .json: not a template


def _project_modules() -> dict[str, str]:
    """Every module imported from this repository, with its source's digest."""
    modules = {}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and file.endswith(".py") and Path(file).resolve().is_relative_to(REPO):
            path = Path(file).resolve()
            modules[str(path.relative_to(REPO))] = _digest(path.read_bytes())
    return dict(sorted(modules.items()))


def lookup(parameters: Path, names: Sequence[str], output: Path) -> list[Rendered] | None:
    entry = _entry(parameters, names, output)
    try:
        stored = json.loads(entry.read_text(encoding="utf-8")) if entry else None
        if not stored or stored["versions"] != _versions():
            return None
        for module, digest in stored["modules"].items():
            if _digest((REPO / module).read_bytes()) != digest:
                return None
        rendered = []
        for item in stored["templates"]:
            path = output / item["file"]
            text = path.read_bytes()
            if _digest(text) != item["digest"]:
                return None
            rendered.append(Rendered(item["target"], path, json.loads(text), text.decode("utf-8")))
        for target in {item["target"] for item in stored["templates"]}:
            if len(list((output / target).glob("*.json"))) != sum(1 for i in stored["templates"] if i["target"] == target):
                return None  # a template was added by hand: render again, which removes it
        return rendered
    except (OSError, ValueError, KeyError, TypeError):
        return None


def extras(parameters: Path, names: Sequence[str], output: Path) -> dict:
    """What the entry keeps beside the templates (results derived from them and the configuration alone,
    such as the preflight report and configuration warnings); read after ``lookup`` found the entry valid."""
    entry = _entry(parameters, names, output)
    try:
        return json.loads(entry.read_text(encoding="utf-8")).get("extras", {}) if entry else {}
    except (OSError, ValueError, AttributeError):
        return {}


def store(parameters: Path, names: Sequence[str], output: Path, rendered: Sequence[Rendered], extras: dict | None = None) -> None:
    entry = _entry(parameters, names, output)
    if entry is None:
        return
    body = {
        "extras": extras or {},
        "versions": _versions(),
        "modules": _project_modules(),
        "templates": [
            {"target": r.target, "file": r.path.relative_to(output).as_posix(), "digest": _digest(r.text.encode("utf-8"))}
            for r in rendered
        ],
    }
    try:
        write_atomically(entry, json.dumps(body))
    except OSError:
        pass  # an unwritable cache costs the next run time, nothing else
