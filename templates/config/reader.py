"""The YAML reader: a parameter file into a frozen dataclass of the model, every problem at once.

Each problem is one line naming the file, the key path, the bad value and what is accepted (the field's
check), so a user fixes them all in one pass.  Repeated keys, non-UTF-8 bytes, an empty file and unknown keys
(with the nearest known one) are problems too.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from templates.config.fields import Check, did_you_mean, shown
from templates.config.model import PROJECT_FILE


class ConfigError(Exception):
    """Raised with every problem found; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Reader:
    """Converts plain YAML data into a dataclass, collecting problems."""

    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[str] = []
        self.given: set[str] = set()  # the key paths the file itself sets

    def problem(self, path: str, value: Any, accepted: str, hint: str = "") -> None:
        self.problems.append(f"{self.filename}: {path}: {shown(value)} is not accepted; {hint}expected {accepted}")

    def read(self, cls: type, data: Any, path: str, base: Any = None) -> Any:
        """Read ``cls`` from ``data``; keys it omits come from ``base`` (the field's default) or the class."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problem(path or "(top level)", data, "a mapping of keys to values")
            return None
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in sorted(set(data) - set(fields), key=str):
            self.problem(self._join(path, str(key)), key, "one of the keys " + ", ".join(fields), did_you_mean(key, fields))
        values = {}
        for name, spec in fields.items():
            key_path = self._join(path, name)
            if name in data:
                self.given.add(key_path)
                default = getattr(base, name) if base is not None else spec.default
                values[name] = self.value(hints[name], data[name], key_path, spec.metadata.get("check"), default)
            elif base is not None:
                values[name] = getattr(base, name)
            elif spec.default is dataclasses.MISSING:
                self.problems.append(f"{self.filename}: {key_path}: missing; it is required ({spec.metadata.get('doc')})")
                values[name] = None
        if any(v is None for v in values.values()):
            return None
        return cls(**values)

    def value(self, kind: Any, data: Any, path: str, check: Check | None, default: Any = None) -> Any:
        if dataclasses.is_dataclass(kind):
            return self.read(kind, data, path, default if dataclasses.is_dataclass(default) else None)
        origin = typing.get_origin(kind)
        if origin is tuple:
            item_kind = typing.get_args(kind)[0]
            if not isinstance(data, list):
                self.problem(path, data, "a list")
                return None
            items = [self.value(item_kind, item, f"{path}[{i}]", None) for i, item in enumerate(data)]
            return None if any(item is None for item in items) else tuple(items)
        if not self._is_instance(data, kind):
            self.problem(path, data, f"a {kind.__name__}")
            return None
        if kind is float:
            data = float(data)
        accepted = check(data) if check else None
        if accepted:
            self.problem(path, data, accepted, did_you_mean(data, getattr(check, "schema", {}).get("enum", ())))
            return None
        return data

    @staticmethod
    def _is_instance(data: Any, kind: type) -> bool:
        if kind is int:  # YAML's true/false are bools, which Python counts as ints
            return isinstance(data, int) and not isinstance(data, bool)
        if kind is float:
            return isinstance(data, (int, float)) and not isinstance(data, bool)
        return isinstance(data, kind)

    @staticmethod
    def _join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, noting every key a mapping repeats (PyYAML keeps the last one silently)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.repeated: list[tuple[Any, int, int]] = []  # key, first line, repeated line

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<" merges may be overridden on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, typing.Hashable):
                continue  # the base class refuses an unhashable key with its own message
            line = key_node.start_mark.line + 1
            if key in first_lines:
                self.repeated.append((key, first_lines[key], line))
            else:
                first_lines[key] = line
        return super().construct_mapping(node, deep=deep)


def _decode(path: Path, raw: bytes, problems: list[str]) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.append(f"{path}: line {line}: byte {raw[error.start]:#04x} is not UTF-8 text; expected a UTF-8 file (re-save it as UTF-8)")
        return None


# A parameter file is a page or two of settings: larger ones, and ones whose aliases expand to more values than
# this, are refused before their values are read (a few lines of anchors can stand for billions of values).
MAX_FILE_BYTES = 1024 * 1024
MAX_EXPANDED_VALUES = 100_000


def expanded_size(data: Any, seen: dict[int, int] | None = None) -> int:
    """How many values ``data`` holds once its aliases are expanded, counted without expanding them."""
    seen = {} if seen is None else seen
    if id(data) in seen:
        return seen[id(data)]
    children = data.values() if isinstance(data, dict) else data if isinstance(data, list) else ()
    seen[id(data)] = size = 1 + sum(expanded_size(child, seen) for child in children)
    return size


def _load_yaml(path: Path, problems: list[str]) -> Any:
    """The file's one YAML document; on a fault, one line in ``problems`` and None."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(f"{path}: {size} bytes; expected a parameter file of at most {MAX_FILE_BYTES} bytes")
            return None
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
        return None
    except OSError as error:
        problems.append(f"{path}: cannot be read ({error.strerror or error}); expected a readable file")
        return None
    text = _decode(path, raw, problems)
    if text is None:
        return None
    try:
        loader = _Loader(text)
    except yaml.YAMLError as error:  # the reader refuses characters YAML does not allow (a NUL byte, control codes)
        problems.append(f"{path}: not valid YAML ({getattr(error, 'reason', error)}); expected printable UTF-8 text")
        return None
    try:
        data = loader.get_single_data()
    except RecursionError:
        problems.append(f"{path}: nested too deeply to read; expected settings a few levels deep")
        return None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        # PyYAML splits its reason in two: "expected a single document in the stream", "but found another document".
        reason = ", ".join(part for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part)
        problems.append(f"{path}:{where}: not valid YAML ({reason or error})")
        return None
    finally:
        loader.dispose()
    if expanded_size(data) > MAX_EXPANDED_VALUES:
        problems.append(f"{path}: its aliases expand to more than {MAX_EXPANDED_VALUES} values; expected settings, not a generator")
        return None
    for key, first, again in loader.repeated:
        problems.append(f"{path}: line {again}: key {key!r} repeats the one at line {first}; expected each key once in a mapping")
    if data is None:
        problems.append(
            f"{path}: the file is empty; expected its settings as a mapping of keys to values "
            "(a blank file is refused so that it never deploys with every default)"
        )
    return data


def check_parameters_dir(parameters_dir: Path) -> None:
    """Raise ConfigError unless ``parameters_dir`` is a directory holding project.yaml."""
    directory = Path(parameters_dir)
    if not directory.is_dir():
        reason = "is not a directory" if directory.exists() else "no such directory"
    elif not (directory / PROJECT_FILE).is_file():
        reason = f"holds no {PROJECT_FILE}"
    else:
        return
    raise ConfigError(
        [f"{directory}: {reason}; expected the parameters directory, holding {PROJECT_FILE} and one <target>.yaml per environment"]
    )


def read_file(path: Path, model: type) -> tuple[Any, frozenset[str], list[str]]:
    """``model`` read from one parameter file (None if it cannot be), the key paths the file sets, and the problems."""
    problems: list[str] = []
    data = _load_yaml(Path(path), problems)
    if problems:
        return None, frozenset(), problems
    reader = _Reader(str(path))
    loaded = reader.read(model, data, "")
    return loaded, frozenset(reader.given), reader.problems


def load_file(path: Path, model: type, checks: Callable[[Any, str], list[str]]) -> Any:
    """Read one parameter file into ``model``, then run ``checks(loaded, filename)`` across its fields.

    Raises ConfigError with every problem of the file, one line each.
    """
    loaded, _, problems = read_file(path, model)
    if loaded is not None:
        problems += checks(loaded, str(path))
    if problems:
        raise ConfigError(problems)
    return loaded
