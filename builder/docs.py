"""Regenerate the documentation that is derived from code: ``python -m builder.docs``.

It rewrites the key reference in docs/configuration.md and the JSON Schemas in
schemas/ from the configuration model, and the table of actions granted on
``Resource: "*"`` in docs/security.md from ``templates/iam/policies.py``, each
between its markers.  Tests fail while any of them is stale.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

from troposphere import encode_to_dict

from builder.schema import FILES, MISSING, REPO, ParameterFile, json_value, write_schemas
from templates.iam.policies import TRUSTS, WILDCARD_RESOURCE_ACTIONS

CONFIGURATION = REPO / "docs" / "configuration.md"
SECURITY = REPO / "docs" / "security.md"
START, END = "<!-- reference:start -->\n", "<!-- reference:end -->"
WILDCARDS_START, WILDCARDS_END = "<!-- wildcards:start -->\n", "<!-- wildcards:end -->"
TRUSTS_START, TRUSTS_END = "<!-- trusts:start -->\n", "<!-- trusts:end -->"

TYPE_WORDS = {str: ("a string", "strings"), int: ("an integer", "integers"), float: ("a number", "numbers"), bool: ("true or false", "")}


def accepted(kind: Any, check: Any) -> str:
    """What a key accepts, in words: the check's own description, else its type."""
    if getattr(check, "accepted", None):
        return check.accepted
    if check is not None:  # a hand-written check that does not describe itself
        return f"{accepted(kind, None)}, checked when loaded"
    if dataclasses.is_dataclass(kind):
        return "a mapping (keys below)"
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        return "a list of mappings (keys below)" if dataclasses.is_dataclass(item) else f"a list of {TYPE_WORDS[item][1]}"
    return TYPE_WORDS[kind][0]


def shown_default(default: Any) -> str:
    if default is MISSING:
        return "required"
    if dataclasses.is_dataclass(default):
        return ""
    return f"`{json.dumps(json_value(default))}`"


def cell(text: str) -> str:
    """Markdown table text: a pipe would end the cell, and <name> would vanish as an HTML tag."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def rows(cls: type, prefix: str = "", base: Any = None) -> list[str]:
    """One table row per key of ``cls``, depth first, nested keys as dotted paths (``services[].name``)."""
    hints = typing.get_type_hints(cls)
    lines = []
    for spec in dataclasses.fields(cls):
        kind, check = hints[spec.name], spec.metadata.get("check")
        default = getattr(base, spec.name) if base is not None else spec.default
        key = f"{prefix}{spec.name}"
        lines.append(f"| `{key}` | {shown_default(default)} | {cell(accepted(kind, check))} | {cell(spec.metadata.get('doc', ''))} |")
        if dataclasses.is_dataclass(kind):
            lines += rows(kind, f"{key}.", default if dataclasses.is_dataclass(default) else None)
        elif typing.get_origin(kind) is tuple and dataclasses.is_dataclass(typing.get_args(kind)[0]):
            lines += rows(typing.get_args(kind)[0], f"{key}[].")
    return lines


def file_reference(file: ParameterFile) -> str:
    return "\n".join(
        [
            f"### `parameters/{file.name}`",
            "",
            f"{file.describes[0].upper()}{file.describes[1:]}. Schema: [`schemas/{file.schema_file}`](../schemas/{file.schema_file}).",
            "",
            "| key | default | accepted | meaning |",
            "| --- | --- | --- | --- |",
            *rows(file.model),
        ]
    )


def reference() -> str:
    """The generated part of docs/configuration.md: one table per kind of parameter file."""
    return "\n\n".join(file_reference(file) for file in FILES) + "\n"


def wildcard_reference() -> str:
    """The generated part of docs/security.md: every action allowed on Resource "*", with its reason."""
    lines = ["| action | why it cannot be narrowed |", "| --- | --- |"]
    lines += [f"| `{action}` | {cell(reason)} |" for action, reason in sorted(WILDCARD_RESOURCE_ACTIONS.items())]
    return "\n".join(lines) + "\n"


def shown(value: Any) -> str:
    """A trust policy's principal or condition value as written in a template: text, or Fn::Sub's template."""
    rendered = encode_to_dict(value)
    return rendered["Fn::Sub"] if isinstance(rendered, dict) and "Fn::Sub" in rendered else str(rendered)


def trust_reference() -> str:
    lines = ["| role | trusted service | conditions | documented by |", "| --- | --- | --- | --- |"]
    for trust in TRUSTS.values():
        conditions = "; ".join(
            f"`{operator}` `{key}` = `{shown(value)}`" for operator, pairs in trust.conditions.items() for key, value in pairs.items()
        )
        conditions = conditions or "none (the page documents none)"
        lines.append(f"| {cell(trust.role)} | `{shown(trust.principal)}` | {conditions} | <{trust.page}> |")
    return "\n".join(lines) + "\n"


GENERATED = (
    (CONFIGURATION, START, END, reference),
    (SECURITY, WILDCARDS_START, WILDCARDS_END, wildcard_reference),
    (SECURITY, TRUSTS_START, TRUSTS_END, trust_reference),
)


def between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def updated(text: str, start: str = START, end: str = END, generate=reference) -> str:
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + generate() + end + tail


def main() -> None:
    for path, start, end, generate in GENERATED:
        path.write_text(updated(path.read_text(), start, end, generate))
    written = [path for path, *_ in GENERATED] + write_schemas()
    print("updated " + ", ".join(str(p.relative_to(REPO)) for p in written))


if __name__ == "__main__":
    main()
