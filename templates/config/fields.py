"""Value checks: one declaration per rule, read by the loader, the JSON Schemas, the reference and the templates.

A configuration field declares its check with ``checked(default, check, doc)``.  The loader calls the check,
``builder/schema.py`` turns its ``schema`` keywords into the JSON Schema an editor reads, ``builder/docs.py``
prints its ``accepted`` text in the reference, and a stack that takes the same value as a parameter derives
the parameter's constraints from it (``parameter_constraints``), so the range is written once.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import field
from typing import Any

# A check returns None for a good value, or the text of what is accepted.  Each
# also carries ``accepted`` (that text, for the reference) and ``schema`` (the
# JSON Schema keywords that say the same to an editor), so the docs and the
# schemas in schemas/ are generated from the checks themselves.
Check = Callable[[Any], str | None]


def described(check: Check, accepted: str, **schema: Any) -> Check:
    check.accepted = accepted  # type: ignore[attr-defined]
    check.schema = schema  # type: ignore[attr-defined]
    return check


def did_you_mean(value: Any, choices: Iterable[Any]) -> str:
    """ "did you mean 'x'? " when ``value`` is a near miss of one of ``choices``, else ""."""
    if not isinstance(value, str) or not value:
        return ""
    names = [c for c in choices if isinstance(c, str)]
    by_case = [c for c in names if c.lower() == value.lower()]
    prefixed = [c for c in names if c.lower().startswith(value.lower())]
    close = by_case or (prefixed if len(prefixed) == 1 else []) or difflib.get_close_matches(value, names, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def one_of(*allowed: Any) -> Check:
    accepted = "one of " + ", ".join(repr(a) for a in allowed)

    def check(value: Any) -> str | None:
        if value not in allowed:
            return accepted
        return None

    return described(check, accepted, enum=list(allowed))


def in_range(low: int, high: int) -> Check:
    accepted = f"an integer from {low} to {high}"

    def check(value: int) -> str | None:
        if not low <= value <= high:
            return accepted
        return None

    return described(check, accepted, minimum=low, maximum=high)


def zero_or(inner: Check) -> Check:
    """0 (a field's "derive it for me"), or what ``inner`` accepts."""
    accepted = f"0, or {inner.accepted}"  # type: ignore[attr-defined]

    def check(value: int) -> str | None:
        return None if value == 0 or inner(value) is None else accepted

    return described(check, accepted, anyOf=[{"const": 0}, inner.schema])  # type: ignore[attr-defined]


def matches(pattern: str, description: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: str) -> str | None:
        return None if compiled.fullmatch(value) else description

    check.pattern = pattern  # type: ignore[attr-defined]
    # fullmatch() anchors the pattern; JSON Schema's "pattern" searches, so it is anchored here.
    return described(check, description, pattern=f"^(?:{pattern})$")


def _is_cidr(value: str) -> str | None:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return "an IPv4 network in CIDR form, such as 10.0.0.0/16, with no host bits set"
    if not 16 <= network.prefixlen <= 28:
        return "a CIDR with a prefix length from /16 to /28 (the range a VPC or subnet accepts)"
    return None


is_cidr = described(
    _is_cidr,
    "an IPv4 CIDR with a prefix from /16 to /28 and no host bits set",
    pattern=r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/(1[6-9]|2[0-8])$",
)

# A clean prefix: "/api", "/v1/orders"; the listener rule adds "/*" itself.
is_route_path = matches(r"(/[a-z0-9][a-z0-9._-]*)+", "a clean path prefix such as /api: lowercase segments, no trailing slash or wildcard")


# A path inside the repository, as a build step names it: relative, no ".." segment, no shell metacharacter, no
# space or newline (the buildspecs quote every value too; docs/security.md).  "*" for the patterns a path field allows.
_SEGMENT = r"(?!\.\.(?:/|$))[A-Za-z0-9_.*-]+"
repository_path = matches(
    rf"{_SEGMENT}(/{_SEGMENT})*", "a relative path inside the repository such as services/common: letters, digits, . _ - * and /, no .."
)
optional_repository_path = matches(rf"({_SEGMENT}(/{_SEGMENT})*)?", "a relative path inside the repository such as services/api, or empty")


def non_negative_number(value: float) -> str | None:
    """A finite number, zero or more: NaN and infinities are no JSON, and CloudWatch compares thresholds as numbers."""
    return None if value == value and 0 <= value < float("inf") else "a finite number, 0 or more"


non_negative_number = described(non_negative_number, "a finite number, 0 or more", minimum=0)


def checked(default: Any = dataclasses.MISSING, check: Check | None = None, doc: str = "", **kwargs):
    """A dataclass field carrying its value check and a line of documentation."""
    metadata = {"check": check, "doc": doc}
    if default is dataclasses.MISSING:
        return field(metadata=metadata, **kwargs)
    return field(default=default, metadata=metadata, **kwargs)


# ALB listener-rule priorities run from 1 to 50,000.  Derived ones start at 1,000,
# above the 1..N that earlier versions numbered by position, so the first update

NAME = matches(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", "lowercase letters, digits and hyphens, 2 to 32 characters, starting with a letter")

HOST_NAME = matches(
    r"((?=[a-z0-9-]{1,63}\.)[a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,63}|",
    "a lowercase DNS name such as shop.example.com, or empty",
)


# A schedule as EventBridge and Application Auto Scaling take it: cron() with six fields, one of day-of-month and
# day-of-week "?", or rate() with a singular unit for 1 and a plural one otherwise (EventBridge User Guide,
# "Schedule expressions for rules": https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html).
_CRON = r"cron\((?P<fields>[0-9A-Za-z*?,/#-]+( [0-9A-Za-z*?,/#-]+){5})\)"
_RATE = r"rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)"
SCHEDULE_ACCEPTED = "cron(minutes hours day-of-month month day-of-week year) with one of the days ?, or rate(N units)"


# Each cron field's values (the page's table): minutes, hours, day-of-month, month, day-of-week, year; the names
# months and days may go by; what may follow a value in the field (L, W, #).
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON_FIELDS = (
    ("minutes", 0, 59, (), r""),
    ("hours", 0, 23, (), r""),
    ("day-of-month", 1, 31, (), r"W?"),
    ("month", 1, 12, _MONTHS, r""),
    ("day-of-week", 1, 7, _DAYS, r"(L|#[1-5])?"),
    ("year", 1970, 2199, (), r""),
)


def _cron_field_problem(text: str, field: tuple) -> str | None:
    name, low, high, names, suffix = field
    value = r"(?P<a>[0-9]+|[A-Z]{3})(-(?P<b>[0-9]+|[A-Z]{3}))?"
    for item in text.split(","):
        if item in ("*", "?") or (name == "day-of-month" and item in ("L", "LW")) or re.fullmatch(r"\*/[0-9]+", item):
            continue
        found = re.fullmatch(value + r"(/[0-9]+)?" + suffix, item)
        bounds = [b for b in (found.group("a"), found.group("b")) if b] if found else []
        numbers = [names.index(b) + 1 if b in names else int(b) if b.isdigit() else -1 for b in bounds]
        if not numbers or not all(low <= n <= high for n in numbers):
            return f"{name} {item!r} is not {low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
    return None


def _schedule_problem(value: str, optional: bool) -> str | None:
    if optional and value == "":
        return None
    found = re.fullmatch(_CRON, value)
    if found:
        fields = found.group("fields").split()
        if (fields[2] == "?") == (fields[4] == "?"):
            return SCHEDULE_ACCEPTED
        problems = [p for text, field in zip(fields, _CRON_FIELDS, strict=True) if (p := _cron_field_problem(text, field))]
        return f"{SCHEDULE_ACCEPTED} ({problems[0]})" if problems else None
    return None if re.fullmatch(_RATE, value) else SCHEDULE_ACCEPTED


CRON = described(lambda v: _schedule_problem(v, True), f"{SCHEDULE_ACCEPTED}, or empty", pattern=f"^(?:{_CRON}|{_RATE})?$")
SCHEDULE = described(lambda v: _schedule_problem(v, False), SCHEDULE_ACCEPTED, pattern=f"^(?:{_CRON}|{_RATE})$")


def shown(value: Any, limit: int = 80) -> str:
    """A value as a message quotes it: its repr, cut to ``limit`` characters (never a whole file)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def declared(model: type, name: str) -> Check:
    """The check a dataclass field of the configuration model declares."""
    return next(f for f in dataclasses.fields(model) if f.name == name).metadata["check"]


# JSON Schema keyword -> the CloudFormation parameter property that says the same.  AllowedPattern takes the
# unanchored pattern: it "must match the entire parameter value", in Java's regex syntax, which these patterns
# keep to (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-regexes.html;
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html).
PARAMETER_PROPERTIES = {"minimum": "MinValue", "maximum": "MaxValue", "enum": "AllowedValues"}


def parameter_constraints(check: Check) -> dict[str, Any]:
    """A stack parameter's constraints from the field's check: MinValue/MaxValue, AllowedValues or AllowedPattern."""
    schema = getattr(check, "schema", {})
    constraints = {PARAMETER_PROPERTIES[k]: v for k, v in schema.items() if k in PARAMETER_PROPERTIES}
    if hasattr(check, "pattern"):
        constraints["AllowedPattern"] = check.pattern
    return constraints
