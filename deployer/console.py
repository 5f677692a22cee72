"""Terminal output and prompts, injectable so tests capture them.

A live console (a terminal) redraws one progress line in place and colours what
matters (rich decides: a terminal, and ``NO_COLOR`` unset, https://no-color.org);
anything else (CI logs, pipes, tests) gets plain lines only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from rich.console import Console as RichConsole
from rich.text import Text

from deployer.errors import Refused


def rich_console(out: TextIO, colour: bool | None = None) -> RichConsole:
    """Plain text unless ``out`` is a terminal (or ``colour`` forces it); never wraps, never reads markup."""
    return RichConsole(file=out, force_terminal=colour, highlight=False, soft_wrap=True, markup=False, emoji=False)


class Console:
    def __init__(
        self,
        out: TextIO | None = None,
        ask: Callable[[str], str] = input,
        interactive: bool | None = None,
        live: bool | None = None,
        colour: bool | None = None,
    ):
        self.out = out or sys.stdout
        self._ask = ask
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.live = self.out.isatty() if live is None else live
        self._rich = rich_console(self.out, colour)
        self._status = ""

    def say(self, text: str = "", style: str | None = None) -> None:
        self._clear_status()
        self._rich.print(Text(text, style=style or ""))
        self.out.flush()

    def warn(self, text: str) -> None:
        self.say(f"warning: {text}", style="yellow")

    def status(self, text: str) -> None:
        """A line redrawn in place on a terminal (the progress bar); dropped elsewhere."""
        if not self.live:
            return
        self._clear_status()
        self.out.write(text)
        self.out.flush()
        self._status = text

    def done_status(self) -> None:
        """End the progress line, so what follows (an error after Ctrl-C) starts on a line of its own."""
        if self._status:
            self.out.write("\n")
            self.out.flush()
            self._status = ""

    def _clear_status(self) -> None:
        if self._status:
            self.out.write("\r" + " " * len(self._status) + "\r")
            self._status = ""

    def ask(self, prompt: str) -> str:
        self._clear_status()
        try:
            return self._ask(prompt)
        except EOFError:
            return ""

    def confirm(self, question: str, *, yes: bool, action: str) -> bool:
        """y/N, or True with --yes; refuses when nobody can answer."""
        if yes:
            return True
        if not self.interactive:
            raise Refused(f"refusing to {action} without a terminal to confirm on: rerun with --yes")
        return self.ask(f"{question} [y/N] ").strip().lower() in ("y", "yes")

    def confirm_name(self, question: str, *, name: str, given: str | None, action: str) -> bool:
        """A protected target: its name typed at the prompt, or passed with --confirm."""
        if given is not None:
            if given != name:
                raise Refused(f"--confirm {given!r} does not match the target {name!r}; nothing was changed")
            return True
        if not self.interactive:
            raise Refused(
                f"{name} is protected: refusing to {action} without a terminal; pass --confirm {name} to confirm non-interactively"
            )
        return self.ask(f"{question} {name} is protected; type its name to confirm: ").strip() == name
