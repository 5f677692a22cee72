"""Values in a loaded configuration that are still the documentation's placeholders.

The shipped parameter files name things that cannot be real yet - a domain, a certificate,
a connection, an on-call address - with values that are reserved for documentation:

- host names under the RFC 2606 example domains (``example.com``, ``example.net``,
  ``example.org`` and anything ending in ``.example``), as a bare domain, in a URL or
  in an e-mail address;
- ARNs whose account id is one AWS's documentation uses (``111111111111``,
  ``111122223333``, ``123456789012``, ``000000000000``).

Rendering keeps them (build.py must show what the templates look like); deploying them
would create a certificate validation that never completes, a pipeline whose source
connection does not exist, or alerts that reach no one, so ``deploy.py`` refuses a target
that still has any, one line per value.  The scan is generic: every string in the
configuration tree (dataclasses, mappings, lists), so a key added later is covered too.
Free text that merely mentions such a value (a JSON test body, a comment-like
description) is not a placeholder: only a value that *is* a host, URL, address or ARN.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
EXAMPLE_TLD = "example"
DOCUMENTATION_ACCOUNTS = ("111111111111", "111122223333", "123456789012", "000000000000")

_HOST = r"(?:\*\.)?(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}\.?"
_URL = re.compile(rf"[a-z][a-z0-9+.-]*://(?:[^@/\s]+@)?({_HOST})(?::\d+)?(?:[/?#]\S*)?", re.IGNORECASE)
_EMAIL = re.compile(rf"[^@\s]+@({_HOST})")
_BARE_HOST = re.compile(_HOST)
_ARN_ACCOUNT = re.compile(r"arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):\S+")


@dataclass(frozen=True)
class Placeholder:
    key: str  # the key path in the configuration, e.g. environment.domain_name
    value: str
    why: str


def example_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host.startswith("*."):
        host = host[2:]
    return host.rsplit(".", 1)[-1] == EXAMPLE_TLD or any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)


def why_placeholder(value: str) -> str | None:
    """Why ``value`` is a documentation placeholder, or None when it is not one."""
    text = value.strip()
    arn = _ARN_ACCOUNT.fullmatch(text)
    if arn:
        account = arn.group(1)
        return f"an ARN in the documentation account {account}" if account in DOCUMENTATION_ACCOUNTS else None
    for pattern, kind in ((_URL, "a URL"), (_EMAIL, "an e-mail address")):
        match = pattern.fullmatch(text)
        if match:
            return f"{kind} under the reserved example domain {match.group(1)}" if example_host(match.group(1)) else None
    if _BARE_HOST.fullmatch(text) and example_host(text):
        return "a domain under the example domains RFC 2606 reserves"
    return None


def strings(tree: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(key path, value) of every string in a configuration tree."""
    if isinstance(tree, str):
        yield path, tree
    elif dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        for spec in dataclasses.fields(tree):
            yield from strings(getattr(tree, spec.name), f"{path}.{spec.name}" if path else spec.name)
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield from strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(tree, list | tuple):
        for index, value in enumerate(tree):
            yield from strings(value, f"{path}[{index}]")


def find(tree: Any) -> list[Placeholder]:
    found = []
    for key, value in strings(tree):
        why = why_placeholder(value)
        if why:
            found.append(Placeholder(key, value, why))
    return found
