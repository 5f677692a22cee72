"""JSON Schemas of the parameter files, generated from the configuration model.

The dataclasses in ``templates/config/`` and ``templates/config/pipeline.py``
are the one definition of every key: their types, defaults, documentation and
value checks drive the loader, the reference in docs/configuration.md and these
schemas alike, so a field added there appears everywhere on the next
``python -m builder.docs``.  The schemas let an editor complete and check keys
(``# yaml-language-server: $schema=...`` on a file's first line); the loader
stays the authority, since cross-field rules (CIDR overlaps, cpu and memory
pairs, ...) are beyond what a schema says.
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from templates.config.model import PIPELINE_FILE, PROJECT_FILE, Environment, Project
from templates.config.pipeline import PipelineSettings

REPO = Path(__file__).resolve().parents[1]
SCHEMA_DIR = REPO / "schemas"
DRAFT = "http://json-schema.org/draft-07/schema#"  # the draft every YAML language server supports

JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}
MISSING = dataclasses.MISSING


@dataclass(frozen=True)
class ParameterFile:
    """One kind of parameter file: what it is called, the model it loads into, its schema's file name."""

    name: str
    model: type
    schema_file: str
    describes: str

    def matches(self, path: Path) -> bool:
        """Whether ``path`` is a file of this kind (any other name in a parameters directory is a target)."""
        named = {file.name for file in FILES if "<" not in file.name}
        return path.name == self.name or ("<" in self.name and path.name not in named)


FILES = (
    ParameterFile(PROJECT_FILE, Project, "project.schema.json", "the project's name and its services"),
    ParameterFile("<target>.yaml", Environment, "environment.schema.json", "one environment target (staging, production, ...)"),
    ParameterFile(PIPELINE_FILE, PipelineSettings, "pipeline.schema.json", "the pipeline target: source, builds, tests, approval"),
)


def file_kind(path: Path) -> ParameterFile:
    return next(file for file in FILES if file.matches(path))


def json_value(value: Any) -> Any:
    """A default as JSON: tuples become lists, dataclasses mappings."""
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, tuple):
        return [json_value(item) for item in value]
    return value


def object_schema(cls: type, base: Any = None) -> dict:
    """The schema of a dataclass; ``base`` is the instance whose values are the defaults (a nested field's default)."""
    hints = typing.get_type_hints(cls)
    properties, required = {}, []
    for spec in dataclasses.fields(cls):
        default = getattr(base, spec.name) if base is not None else spec.default
        if default is MISSING:
            required.append(spec.name)
        properties[spec.name] = value_schema(hints[spec.name], spec.metadata.get("check"), default, spec.metadata.get("doc", ""))
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    return schema


def value_schema(kind: Any, check: Any, default: Any, doc: str) -> dict:
    if dataclasses.is_dataclass(kind):
        schema = object_schema(kind, default if dataclasses.is_dataclass(default) else None)
        schema["type"] = ["object", "null"]  # "key:" with nothing under it takes every default
    elif typing.get_origin(kind) is tuple:
        schema = {"type": "array", "items": value_schema(typing.get_args(kind)[0], None, MISSING, "")}
    elif kind in JSON_TYPES:
        schema = {"type": JSON_TYPES[kind], **getattr(check, "schema", {})}
    else:
        raise TypeError(f"no JSON Schema type for {kind!r}: teach builder/schema.py about it")
    if doc:
        schema = {"description": doc, **schema}
    if default is not MISSING and not dataclasses.is_dataclass(default):
        schema["default"] = json_value(default)
    return schema


def schema(file: ParameterFile) -> dict:
    return {
        "$schema": DRAFT,
        "title": file.name,
        "description": f"parameters/{file.name}: {file.describes}. Generated from the configuration model by python -m builder.docs.",
        **object_schema(file.model),
    }


def schema_text(file: ParameterFile) -> str:
    return json.dumps(schema(file), indent=2) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    for file in FILES:
        path = directory / file.schema_file
        path.write_text(schema_text(file))
        written.append(path)
    return written


def modeline(yaml_file: Path, directory: Path = SCHEMA_DIR) -> str:
    """The first line that points an editor at the file's schema, by a path relative to the file."""
    schema_path = directory / file_kind(yaml_file).schema_file
    return f"# yaml-language-server: $schema={Path(os.path.relpath(schema_path, yaml_file.resolve().parent)).as_posix()}"
