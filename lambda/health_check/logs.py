"""JSON-lines logging: one object per line with time, level, message and fields.

CloudWatch Logs Insights parses such lines without configuration, and a test can
read them back with ``json.loads``.

No credentials in a line: any ``user:password@`` in a URL is stripped from the
message, from every text field (inside lists and objects too) and from the
traceback, whoever wrote it.

Bounded lines: the message and every field are cut to FIELD_LIMIT characters (a
list or object field: its JSON), with a marker saying how long it was; a
traceback keeps its last TRACEBACK_LIMIT characters, where the exception is.  An
event can hold fields of any size (an execution id, a stage, a service name); a
line stays well under CloudWatch Logs' 256 KB event limit and readable.
Credentials are stripped before cutting, so a cut cannot leave half of them.
"""

import itertools
import json
import logging
import math
import os
import re
import sys
import time

LOGGER_NAME = "health_check"
FIELD_LIMIT = 1000  # characters per field (and for the message)
TRACEBACK_LIMIT = 4000  # characters of a traceback, its end kept
_MAX_DEPTH = 4  # list/object nesting kept as JSON; deeper, the rest is text
_MAX_INT_BITS = 3000  # about 900 digits: larger integers are described, not written out

# The userinfo of a URL: from "scheme://" to the last "@" before the path, query,
# fragment or the end of the word (a password may hold a raw "@" or ":").
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")


def without_credentials(text: str) -> str:
    """``text`` with ``user:password@`` taken out of every URL in it."""
    return _URL_USERINFO.sub(r"\1", text)


def bounded(text: str, limit: int = FIELD_LIMIT, marker: str | None = None) -> str:
    """``text`` cut to ``limit`` characters, the marker (by default, how long it was) included."""
    if len(text) <= limit:
        return text
    marker = f"…(truncated from {len(text)} characters)" if marker is None else marker
    return text[: limit - len(marker)] + marker


def _bounded_tail(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f"(truncated from {len(text)} characters)…"
    return marker + text[len(text) - (limit - len(marker)) :]


def _text(value) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:  # a broken __str__, or one nested too deeply
        return f"<unprintable {type(value).__name__}>"


def _clean(value, depth: int = 0):
    """A field's value, fit for a log line: without credentials, bounded; lists and objects item by item."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= _MAX_INT_BITS else f"<an integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)  # NaN and Infinity are not JSON
    if isinstance(value, (list, tuple, set, frozenset, dict)) and depth < _MAX_DEPTH:
        # More items than FIELD_LIMIT could not fit anyway (each takes at least two characters).
        if isinstance(value, dict):
            items = itertools.islice(value.items(), FIELD_LIMIT)
            cleaned = {bounded(without_credentials(_text(key))): _clean(item, depth + 1) for key, item in items}
        else:
            cleaned = [_clean(item, depth + 1) for item in itertools.islice(value, FIELD_LIMIT)]
        text = json.dumps(cleaned)
        return cleaned if len(text) <= FIELD_LIMIT else bounded(text)
    return bounded(without_credentials(_text(value)))


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "message": bounded(without_credentials(record.getMessage())),
        }
        entry.update({bounded(_text(key)): _clean(value) for key, value in getattr(record, "fields", {}).items()})
        if record.exc_info:
            entry["exception"] = _bounded_tail(without_credentials(self.formatException(record.exc_info)), TRACEBACK_LIMIT)
        return json.dumps(entry, default=str)


class CurrentStdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at the time (pytest swaps it per test)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # logging must never break a health check
            self.handleError(record)


def _build_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    handler = CurrentStdoutHandler()
    handler.setFormatter(JsonLineFormatter())
    logger.handlers = [handler]
    # The Lambda runtime puts its own handler on the root logger: without this
    # every line would be written twice, once not as JSON.
    logger.propagate = False
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return logger


_logger = _build_logger()


def info(message: str, **fields) -> None:
    _logger.info(message, extra={"fields": fields})


def warning(message: str, **fields) -> None:
    _logger.warning(message, extra={"fields": fields})


def error(message: str, **fields) -> None:
    _logger.error(message, extra={"fields": fields})


def exception(message: str, **fields) -> None:
    """An error line with the current exception's traceback."""
    _logger.error(message, exc_info=True, extra={"fields": fields})
