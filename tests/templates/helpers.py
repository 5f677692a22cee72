"""Small readers over rendered template dicts."""

from __future__ import annotations


def resources_of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def props(template: dict, name: str) -> dict:
    return template["Resources"][name].get("Properties", {})


def refs(value) -> set[str]:
    """Every logical id a value refers to with Ref or GetAtt."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value:
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= refs(item)
    return found
