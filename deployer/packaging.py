"""Deterministic artefacts: the same input gives the same bytes, hence the same S3 key.

Zip entries are sorted and carry a fixed timestamp and fixed permissions, so a
fresh checkout (new mtimes, different umask) packages to identical bytes and
nothing is uploaded again.  Templates are serialised compactly in the key
order they were rendered in, which is itself deterministic.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import zipfile
from pathlib import Path

from deployer.errors import UsageError

# The earliest time a zip header can hold; any constant would do.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = stat.S_IFREG | 0o644
UNIX = 3  # create_system: makes unzip honour external_attr's permission bits
EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
EXCLUDED_NAMES = {".DS_Store"}


def _included(relative: Path) -> bool:
    if any(part in EXCLUDED_DIRS for part in relative.parts[:-1]):
        return False
    return relative.suffix not in EXCLUDED_SUFFIXES and relative.name not in EXCLUDED_NAMES


def own_files(source: Path) -> list[Path]:
    """The regular files under ``source``; a symbolic link anywhere (the directory included) is refused, since what it
    points at, maybe outside the repository, would be packaged and uploaded as the function's code."""
    links = [source] if source.is_symlink() else []
    found = []
    for directory, subdirectories, names in os.walk(source):
        for name in sorted(subdirectories + names):
            path = Path(directory) / name
            if path.is_symlink():
                links.append(path)
            elif path.is_file():
                found.append(path)
    if links:
        link = links[0]
        raise UsageError(
            f"{link}: a symbolic link (to {os.readlink(link)}) in the Lambda source: only the function's own files are "
            f"packaged; replace it with the file itself{f' ({len(links) - 1} more link(s))' if len(links) > 1 else ''}"
        )
    return found


def zip_directory(source: Path) -> bytes:
    """The directory's files as a reproducible zip, under the directory's own name.

    The entries are ``health_check/handler.py``, not ``handler.py``: the code
    is a package, and its handler is named as one (``names.HEALTH_CHECK_HANDLER``).
    """
    if not source.is_dir():
        raise UsageError(f"{source}: Lambda source directory not found")
    files = sorted((path.relative_to(source).as_posix(), path) for path in own_files(source) if _included(path.relative_to(source)))
    if not files:
        raise UsageError(f"{source}: Lambda source directory has no files to package")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, path in files:
            info = zipfile.ZipInfo(f"{source.name}/{name}", date_time=FIXED_DATE_TIME)
            info.external_attr = FILE_MODE << 16
            info.create_system = UNIX
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def template_bytes(template: dict) -> bytes:
    return json.dumps(template, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_key(prefix: str, data: bytes, extension: str) -> str:
    """``<prefix>/<sha256>.<extension>``: a key that changes exactly when the content does."""
    return f"{prefix}/{digest(data)}.{extension}"
