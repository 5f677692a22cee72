"""What a run did, for ``--json FILE``: written on every way out, success or not."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Result:
    command: str = "deploy"
    target: str | None = None
    stack: str | None = None
    account: str | None = None
    region: str | None = None
    status: str | None = None  # the stack's final status; None when it does not exist
    change_set: str | None = None
    changes: dict[str, int] = field(default_factory=lambda: {"add": 0, "modify": 0, "remove": 0})
    stacks: list[dict] = field(default_factory=list)  # per stack of the change set: path and its rows
    uploaded: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    record: str | None = None
    warnings: list[str] = field(default_factory=list)
    exit_code: int | None = None
    error: str | None = None
    duration_seconds: float = 0.0

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")
