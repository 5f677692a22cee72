"""cfn-lint, in process, with its rules loaded once for every template."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_REGIONS = ("us-east-1",)


@dataclass(frozen=True)
class Finding:
    file: str
    path: str
    rule: str
    message: str
    level: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.rule} ({self.level}): {self.message}"


@lru_cache(maxsize=1)
def rules():
    """Loading cfn-lint's rules takes most of a second; do it once per process."""
    from cfnlint.core import get_rules  # imported here so rendering alone (checkov's env) needs no cfn-lint

    return get_rules([], [], [])


def _level(rule_id: str) -> str:
    return {"E": "error", "W": "warning", "I": "info"}.get(rule_id[:1], "error")


def lint_template(path: Path, template: dict, regions: tuple[str, ...] = DEFAULT_REGIONS) -> list[Finding]:
    """Lint one rendered template; ``path`` lets cfn-lint resolve nested TemplateURLs beside it."""
    from cfnlint.core import run_checks

    matches = run_checks(str(path), template, rules(), list(regions))
    return [
        Finding(
            file=str(path),
            path="/".join(str(part) for part in (getattr(m, "path", None) or [f"line {m.linenumber}"])),
            rule=m.rule.id,
            message=m.message,
            level=_level(m.rule.id),
        )
        for m in matches
    ]
