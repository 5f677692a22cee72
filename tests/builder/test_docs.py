"""Generated documentation: the configuration reference and the wildcard table are in step with the code."""

from __future__ import annotations

import re

import pytest

from builder import docs, schema
from templates.iam.policies import WILDCARD_RESOURCE_ACTIONS
from tests.builder.test_schema import Added


@pytest.mark.parametrize("path, start, end, generate", docs.GENERATED, ids=lambda v: getattr(v, "name", None))
def test_generated_sections_are_in_step_with_the_code(path, start, end, generate):
    assert docs.between(path.read_text(), start, end) == generate(), f"{path.name} is stale: run python -m builder.docs"


def test_every_wildcard_action_is_listed_with_its_reason():
    table = docs.between(docs.SECURITY.read_text(), docs.WILDCARDS_START, docs.WILDCARDS_END)
    listed = re.findall(r"^\| `([^`]+)` \| (.+) \|$", table, flags=re.M)
    assert dict(listed) == {action: docs.cell(reason) for action, reason in WILDCARD_RESOURCE_ACTIONS.items()}


def key_paths(node: dict, prefix: str = "") -> list[str]:
    """Every key path a schema describes, nested ones included, in the reference's notation."""
    paths = []
    for key, sub in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        paths.append(path)
        paths += key_paths(sub, f"{path}.")
        paths += key_paths(sub.get("items", {}), f"{path}[].")
    return paths


@pytest.mark.parametrize("file", schema.FILES, ids=lambda f: f.schema_file)
def test_every_key_of_the_schema_has_a_row(file):
    section = docs.file_reference(file)
    rows = re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)
    assert rows == key_paths(schema.schema(file))
    assert len(rows) == len(set(rows))


def test_a_row_says_default_accepted_and_meaning():
    rows = docs.rows(Added)
    assert rows == [
        "| `domain_name` | `\"\"` | a domain name or empty | the public name |",
        "| `compliance` | `\"none\"` | one of 'none', 'strict' | controls to check |",
        "| `routing` |  | a mapping (keys below) | how requests reach the service |",
        "| `routing.priority` | `10` | an integer from 1 to 50000 | listener rule priority |",
    ]


def test_table_cells_escape_pipes_and_angle_brackets():
    assert docs.cell("a|b <name>") == "a\\|b &lt;name&gt;"


def test_a_check_that_does_not_describe_itself_still_says_it_is_checked():
    def even(value: int) -> str | None:
        return None if value % 2 == 0 else "an even number"

    assert docs.accepted(int, even) == "an integer, checked when loaded"
    assert docs.accepted(int, None) == "an integer"
