#!/usr/bin/env python3
"""Print the content hash of the files under the given paths: ``src-<hash>`` names an image's sources.

    python pipeline/source_hash.py services/api-service services/api-service/Dockerfile services/common

The hash covers every file's path (relative to the working directory) and bytes,
in sorted order, skipping caches; the same sources give the same hash on any
machine, and a change to any file, a rename, an addition or a removal changes it.
A path that does not exist is an error: a typo must not hash to "no sources".
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")
LENGTH = 32  # hex digits kept: 128 bits, well inside ECR's 128-character tag limit


def files(paths: list[str]) -> list[Path]:
    found: set[Path] = set()
    for name in paths:
        path = Path(name)
        if path.is_file():
            found.add(path)
        elif path.is_dir():
            found.update(p for p in path.rglob("*") if p.is_file())
        else:
            raise FileNotFoundError(f"{name}: no such file or directory")
    return sorted(
        (p for p in found if not SKIPPED_PARTS.intersection(p.parts) and not p.name.endswith(SKIPPED_SUFFIXES)),
        key=lambda p: p.as_posix(),
    )


def source_hash(paths: list[str]) -> str:
    digest = hashlib.sha256()
    for path in files(paths):
        name = path.as_posix().encode()
        body = path.read_bytes()
        digest.update(len(name).to_bytes(8, "big") + name + len(body).to_bytes(8, "big") + body)
    return digest.hexdigest()[:LENGTH]


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: source_hash.py PATH...", file=sys.stderr)
        return 2
    try:
        print(source_hash(argv))
    except FileNotFoundError as error:
        print(f"source_hash: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
