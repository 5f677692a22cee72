"""Polling and clocks, injectable so tests run without sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class Poll:
    # CloudFormation's DescribeStackEvents and DescribeChangeSet are throttled
    # per account; 5 s keeps a follow loop over a dozen nested stacks well below it.
    interval: float = 5.0
    sleeper: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    utcnow: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def sleep(self) -> None:
        self.sleeper(self.interval)


def elapsed_text(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes:02d}:{seconds:02d}"
