"""SIGINT and SIGTERM alike: both stop a run the way Ctrl-C does.

A cancelled CI job sends SIGTERM; without a handler Python dies on the spot and
leaves its change set behind.  Both signals raise KeyboardInterrupt, so the one
clean-up path (``finally`` blocks in ``deployer.execution``) runs for either.

Around a call whose outcome decides what the stack's state is - creating a
change set (its id is needed to delete it), executing it - a signal is held
until the call returns, so the run always knows whether the change set exists
and whether it is executing.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Signals:
    def __init__(self) -> None:
        self._held = 0
        self._pending: int | None = None
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        for signum in HANDLED:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame) -> None:
        if self._held:
            self._pending = signum
            return
        raise KeyboardInterrupt(signal.Signals(signum).name)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Delay SIGINT/SIGTERM until the block ends, then raise KeyboardInterrupt."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held and self._pending is not None:
                signum, self._pending = self._pending, None
                raise KeyboardInterrupt(signal.Signals(signum).name)
