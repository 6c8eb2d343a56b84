"""The live feed: a notice for each change to a call the bot is in, to every console listening.

A notice says which call changed and by what (an event type, an operator's request); consoles
read again what they show of it. Each listener has a bounded queue: one that stops reading loses
its oldest notices, never holds up the bot. Notices reach the listeners of this process only:
with several replicas behind one address, a console sees the calls whose events this replica
processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(f"roombot.{__name__}")

# Notices one listener may have waiting; the page reads again on any of them, so few are needed.
MAX_PENDING = 100

Notice = dict[str, Any]


class LiveFeed:
    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self._max_pending = max_pending
        self._listeners: set[asyncio.Queue[Notice | None]] = set()
        self._closed = False

    def call_changed(self, call_connection_id: str, room_id: str | None, cause: str) -> None:
        """Tell every listener that a call changed, and why (an event type, "endRequested"...)."""
        self.publish(
            {
                "callConnectionId": call_connection_id,
                "roomId": room_id,
                "cause": cause,
                "at": datetime.now(UTC).isoformat(),
            }
        )

    def publish(self, notice: Notice) -> None:
        for queue in self._listeners:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(notice)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    @contextmanager
    def listen(self) -> Iterator[asyncio.Queue[Notice | None]]:
        """A queue of notices for as long as the block runs; None in it means the feed closed."""
        queue: asyncio.Queue[Notice | None] = asyncio.Queue(self._max_pending)
        if self._closed:
            queue.put_nowait(None)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)

    def close(self) -> None:
        """End every listener's stream (the bot is shutting down); later listeners end at once."""
        self._closed = True
        for queue in self._listeners:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)
