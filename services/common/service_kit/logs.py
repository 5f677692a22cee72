"""JSON-lines logs on stdout: one object per line (time, level, message, fields)."""

import json
import sys
import time
import traceback


def log(level: str, message: str, **fields) -> None:
    now = time.time()
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z",
        "level": level,
        "message": message,
        **fields,
    }
    # One write per line, so lines from concurrent requests never interleave.
    sys.stdout.write(json.dumps(entry, default=str) + "\n")
    sys.stdout.flush()


def info(message: str, **fields) -> None:
    log("INFO", message, **fields)


def error(message: str, **fields) -> None:
    log("ERROR", message, **fields)


def exception(message: str, **fields) -> None:
    log("ERROR", message, exception=traceback.format_exc(), **fields)
