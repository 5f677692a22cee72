"""Change sets as text: one table per stack, nested stacks indented below their parent.

Replacements are the one thing a reviewer must not miss, so they are
capitalised in the table and listed again, with their nested path, after it.
"""

from __future__ import annotations

from deployer.changesets import ChangeSet

HEADERS = ("Action", "Logical ID", "Type", "Replacement", "Changed properties")
REPLACEMENT = {"True": "REPLACE", "Conditional": "MAY REPLACE", "False": ""}


def changed_paths(change: dict) -> str:
    """The property paths a Modify touches, e.g. ``Tags``, ``ContainerDefinitions.0.Image``."""
    paths = set()
    for detail in change.get("Details", []):
        target = detail.get("Target", {})
        path = target.get("Path")
        if path:
            parts = [part for part in path.split("/") if part]
            if parts and parts[0] == "Properties":
                parts = parts[1:]
            paths.add(".".join(parts) or target.get("Attribute", ""))
        elif target.get("Attribute") == "Properties" and target.get("Name"):
            paths.add(target["Name"])
        elif target.get("Attribute"):
            paths.add(target["Attribute"])
    return ", ".join(sorted(p for p in paths if p))


def rows(node: ChangeSet) -> list[tuple[str, ...]]:
    result = []
    for change in node.changes:
        resource = change.get("ResourceChange", {})
        result.append(
            (
                resource.get("Action", ""),
                resource.get("LogicalResourceId", ""),
                resource.get("ResourceType", ""),
                REPLACEMENT.get(resource.get("Replacement", ""), ""),
                changed_paths(resource),
            )
        )
    return result


def table(lines: list[tuple[str, ...]], indent: str) -> list[str]:
    widths = [max(len(row[i]) for row in lines) for i in range(len(HEADERS))]
    return [indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in lines]


def replacements(root: ChangeSet) -> list[str]:
    found = []
    for node in root.walk():
        for change in node.changes:
            resource = change.get("ResourceChange", {})
            if resource.get("Replacement") in ("True", "Conditional"):
                kind = "will be REPLACED" if resource["Replacement"] == "True" else "may be REPLACED"
                found.append(f"{node.path}/{resource.get('LogicalResourceId')} ({resource.get('ResourceType')}) {kind}")
    return found


def change_counts(root: ChangeSet) -> dict[str, int]:
    """{"add": n, "modify": n, "remove": n} over the whole tree."""
    counts = {"Add": 0, "Modify": 0, "Remove": 0}
    for node in root.walk():
        for change in node.changes:
            resource = change.get("ResourceChange", {})
            # A nested stack with a change set of its own is counted through that
            # change set's rows, not as one more change.
            if resource.get("Action") in counts and not resource.get("ChangeSetId"):
                counts[resource["Action"]] += 1
    return {action.lower(): count for action, count in counts.items()}


def stack_rows(root: ChangeSet) -> list[dict]:
    """The change set per stack, machine-readable: what --json writes for --plan."""
    return [
        {"path": node.path, "change_set_id": node.id, "changes": [dict(zip(HEADERS, row, strict=True)) for row in rows(node)]}
        for node in root.walk()
    ]


def summary(root: ChangeSet) -> str:
    counts = change_counts(root)
    return f"{counts['add']} to add, {counts['modify']} to modify, {counts['remove']} to remove"


def render(root: ChangeSet) -> list[str]:
    lines: list[str] = []

    def visit(node: ChangeSet, depth: int) -> None:
        indent = "  " * depth
        count = len(node.changes)
        lines.append(f"{indent}Stack {node.path}: {count} change{'s' if count != 1 else ''}")
        if node.changes:
            lines.extend(table([HEADERS, *rows(node)], indent + "  "))
        for child in node.children:
            visit(child, depth + 1)

    visit(root, 0)
    lines.append(summary(root))
    loud = replacements(root)
    if loud:
        lines.append(f"!! {len(loud)} resource{'s' if len(loud) != 1 else ''} may be deleted and created anew:")
        lines.extend(f"!!   {line}" for line in loud)
    return lines
