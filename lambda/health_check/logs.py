"""JSON-lines logging: one object per line with time, level, message and fields.

CloudWatch Logs Insights parses such lines without configuration, and a test can
read them back with ``json.loads``.
"""

import json
import logging
import os
import sys
import time

LOGGER_NAME = "health_check"


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
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
