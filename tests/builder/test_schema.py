"""schemas/: generated from the configuration model, committed in step, and right about the shipped files."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import jsonschema
import pytest
import yaml

from builder import schema as schema_module
from templates.config.fields import checked, in_range, matches, one_of
from tests.conftest import REPO, SAMPLE

SCHEMAS = {file.schema_file: file for file in schema_module.FILES}


def parameter_directories() -> list[Path]:
    """The project's parameters/ and every example configuration (a directory holding project.yaml)."""
    examples = sorted(p.parent for p in (REPO / "examples").rglob("project.yaml")) if (REPO / "examples").is_dir() else []
    return [REPO / "parameters", *examples]


PARAMETER_FILES = [path for directory in parameter_directories() for path in sorted(directory.glob("*.yaml"))]


def validator(path: Path) -> jsonschema.Draft7Validator:
    committed = (schema_module.SCHEMA_DIR / schema_module.file_kind(path).schema_file).read_text()
    return jsonschema.Draft7Validator(yaml.safe_load(committed))


def errors(path: Path, data) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(path).iter_errors(data)]


@pytest.mark.parametrize("file", schema_module.FILES, ids=lambda f: f.schema_file)
def test_committed_schema_is_generated_from_the_model(file):
    committed = (schema_module.SCHEMA_DIR / file.schema_file).read_text()
    assert committed == schema_module.schema_text(file), f"schemas/{file.schema_file} is stale: run python -m builder.docs"


@pytest.mark.parametrize("file", schema_module.FILES, ids=lambda f: f.schema_file)
def test_schema_is_valid_draft_7(file):
    jsonschema.Draft7Validator.check_schema(schema_module.schema(file))


@pytest.mark.parametrize("path", PARAMETER_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_file_is_accepted_and_names_its_schema(path):
    first_line = path.read_text().splitlines()[0]
    assert first_line == schema_module.modeline(path), f"{path} should start with {schema_module.modeline(path)!r}"
    assert (path.parent / first_line.split("$schema=", 1)[1]).is_file()
    assert errors(path, yaml.safe_load(path.read_text())) == []


def spoil(data: dict, path: tuple, key: str, value) -> dict:
    """A copy of ``data`` with ``key: value`` added in the mapping at ``path`` (list indexes allowed)."""
    spoilt = copy.deepcopy(data)
    target = spoilt
    for step in path:
        target = target.setdefault(step, {}) if isinstance(step, str) else target[step]
    target[key] = value
    return spoilt


@pytest.mark.parametrize(
    "file, path, key, value, message",
    [
        ("project.yaml", (), "servics", [], "Additional properties are not allowed ('servics' was unexpected)"),
        ("project.yaml", ("services", 0), "contianer_port", 8080, "('contianer_port' was unexpected)"),
        ("staging.yaml", ("network",), "natmode", "none", "('natmode' was unexpected)"),
        ("production.yaml", ("alarms", "latency_p99"), "treshold", 2, "('treshold' was unexpected)"),
        ("pipeline.yaml", ("source",), "branh", "main", "('branh' was unexpected)"),
        ("staging.yaml", ("network",), "nat_mode", "gateway", "'gateway' is not one of ['none', 'single', 'per-az']"),
        ("staging.yaml", ("logs",), "retention_days", 45, "45 is not one of"),
        ("staging.yaml", ("services",), "bake_time_minutes", 2000, "2000 is greater than the maximum of 1440"),
        ("staging.yaml", (), "protected", "yes please", "'yes please' is not of type 'boolean'"),
        ("project.yaml", ("services", 0), "name", "Api_Service", "'Api_Service' does not match"),
        ("staging.yaml", ("network",), "vpc_cidr", "10.0.0.0/8", "'10.0.0.0/8' does not match"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.endswith(".yaml") else None,
)
def test_schema_rejects_a_misspelt_key_and_a_bad_value(file, path, key, value, message):
    shipped = SAMPLE / file
    data = yaml.safe_load(shipped.read_text())
    assert errors(shipped, data) == []
    found = errors(shipped, spoil(data, path, key, value))
    assert len(found) == 1 and message in found[0], found


def test_a_required_key_is_required():
    path = SAMPLE / "pipeline.yaml"
    data = yaml.safe_load(path.read_text())
    del data["source"]["repository"]
    assert errors(path, data) == ["source: 'repository' is a required property"]


@dataclasses.dataclass(frozen=True)
class Routing:
    priority: int = checked(10, in_range(1, 50000), "listener rule priority")


@dataclasses.dataclass(frozen=True)
class Added:
    """Fields declared as a new one would be in templates/config/."""

    domain_name: str = checked("", matches(r"([a-z0-9-]+\.)+[a-z]{2,}|", "a domain name or empty"), "the public name")
    compliance: str = checked("none", one_of("none", "strict"), "controls to check")
    routing: Routing = checked(Routing(), doc="how requests reach the service")


def test_a_new_field_appears_in_the_schema_without_touching_the_generator():
    generated = schema_module.object_schema(Added)["properties"]
    assert generated["domain_name"] == {
        "description": "the public name",
        "type": "string",
        "pattern": r"^(?:([a-z0-9-]+\.)+[a-z]{2,}|)$",
        "default": "",
    }
    assert generated["compliance"]["enum"] == ["none", "strict"]
    assert generated["routing"]["properties"]["priority"] == {
        "description": "listener rule priority",
        "type": "integer",
        "minimum": 1,
        "maximum": 50000,
        "default": 10,
    }


def test_a_nested_default_comes_from_the_parent_fields_default():
    # alarms.healthy_hosts treats missing data as breaching, unlike AlarmSpec's own default.
    environment = schema_module.schema(SCHEMAS["environment.schema.json"])
    alarms = environment["properties"]["alarms"]["properties"]
    assert alarms["healthy_hosts"]["properties"]["treat_missing_data"]["default"] == "breaching"
    assert alarms["target_5xx"]["properties"]["treat_missing_data"]["default"] == "notBreaching"
