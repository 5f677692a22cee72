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


CRON = matches(r"(cron|rate)\(.+\)", "an EventBridge Scheduler expression such as cron(0 19 ? * MON-FRI *), or empty")


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
