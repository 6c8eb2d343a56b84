"""A readable timeline: one line per step, prefixed with the seconds elapsed since it began."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

# Raw ids and call ids are long; a timeline shows enough of them to tell them apart.
SHORT_ID_CHARS = 8


def short_id(value: str) -> str:
    """``8:acs:<resource>_<guid>`` → ``8:acs:…_<guid start>``; any other long id → its start."""
    prefix, sep, guid = value.rpartition("_")
    if sep and prefix.startswith("8:acs:"):
        return f"8:acs:…_{guid[:SHORT_ID_CHARS]}"
    return value if len(value) <= SHORT_ID_CHARS + 1 else f"{value[:SHORT_ID_CHARS]}…"


class Timeline:
    def __init__(self, out: TextIO | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self._out = out if out is not None else sys.stdout
        self._clock = clock
        self._start = clock()
        self.lines: list[str] = []

    def elapsed(self) -> float:
        return self._clock() - self._start

    def say(self, text: str) -> None:
        """A line without a time: headings and summaries."""
        self.lines.append(text)
        print(text, file=self._out, flush=True)

    def mark(self, text: str) -> None:
        """A step that just happened, with the time it happened at."""
        self.say(f"{self.elapsed():8.3f}s  {text}")
