"""JSON-lines logging: one object per line with time, level, message and fields.

CloudWatch Logs Insights parses such lines without configuration, and a test can
read them back with ``json.loads``.

No credentials in a line: any ``user:password@`` in a URL is stripped from the
message, from every text field (inside lists and objects too) and from the
traceback, whoever wrote it.
"""

import json
import logging
import os
import re
import sys
import time

LOGGER_NAME = "health_check"

# The userinfo of a URL: from "scheme://" to the last "@" before the path, query,
# fragment or the end of the word (a password may hold a raw "@" or ":").
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")


def without_credentials(text: str) -> str:
    """``text`` with ``user:password@`` taken out of every URL in it."""
    return _URL_USERINFO.sub(r"\1", text)


def _clean(value):
    """A field's value, fit for a log line: text without credentials; lists and objects item by item."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {without_credentials(str(key)): _clean(item) for key, item in value.items()}
    return without_credentials(value if isinstance(value, str) else str(value))


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "message": without_credentials(record.getMessage()),
        }
        entry.update({str(key): _clean(value) for key, value in getattr(record, "fields", {}).items()})
        if record.exc_info:
            entry["exception"] = without_credentials(self.formatException(record.exc_info))
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
