"""docs/configuration.md: its reference is generated from the model, lists every key, and stays in step."""

from __future__ import annotations

import re

import pytest

from builder import docs, schema
from tests.builder.test_schema import Added

TEXT = docs.CONFIGURATION.read_text()


def test_reference_matches_the_model():
    start = TEXT.index(docs.START) + len(docs.START)
    end = TEXT.index(docs.END)
    assert TEXT[start:end] == docs.reference(), "docs/configuration.md is stale: run python -m builder.docs"


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
