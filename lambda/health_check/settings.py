"""Settings from environment variables, read on every call (tests change them).

| variable                     | default        | meaning                                              |
|------------------------------|----------------|------------------------------------------------------|
| CHECK_TIMEOUT_SECONDS        | 5              | per-check timeout when an endpoint names none        |
| DEADLINE_MARGIN_MS           | 3000           | time kept back from the Lambda's remaining time      |
| HOOK_CALLBACK_DELAY_SECONDS  | 15             | callBackDelay returned with IN_PROGRESS              |
| HOOK_MAX_WAIT_SECONDS        | 300            | how long green tasks may stay not-ready before FAILED |
| CANARY_ENDPOINTS             | (none)         | JSON ``{"endpoints": [...]}`` the canary checks        |
| METRICS_NAMESPACE            | HealthCheck    | CloudWatch namespace of the canary's metrics         |
| LOG_LEVEL                    | INFO           | level of the JSON log lines                          |

A value that is not a number, or is negative, is an error (the call fails, saying
which variable).  ``nan``, ``inf`` and ``-inf`` (which float() accepts, and which
would make every comparison with them false or never true) fall back to the
default, with a warning line: a wait bounded by NaN would never end.
"""

import math
import os

from . import logs


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a number") from None
    if not math.isfinite(value):
        logs.warning("setting is not a finite number; using its default", variable=name, value=raw, default=default)
        return default
    if value < 0:
        raise ValueError(f"environment variable {name}={raw!r} must not be negative")
    return value


def check_timeout_seconds() -> float:
    return _number("CHECK_TIMEOUT_SECONDS", 5.0)


def deadline_margin_seconds() -> float:
    return _number("DEADLINE_MARGIN_MS", 3000.0) / 1000.0


def hook_callback_delay_seconds() -> int:
    return int(_number("HOOK_CALLBACK_DELAY_SECONDS", 15))


def hook_max_wait_seconds() -> float:
    return _number("HOOK_MAX_WAIT_SECONDS", 300.0)


def canary_endpoints_json() -> str:
    return os.environ.get("CANARY_ENDPOINTS", "")


def metrics_namespace() -> str:
    return os.environ.get("METRICS_NAMESPACE", "").strip() or "HealthCheck"
