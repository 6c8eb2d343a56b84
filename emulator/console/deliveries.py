"""What the emulator sent: every callback and Event Grid POST (each attempt), with its answer.

The log watches the HTTP client sessions of delivery through aiohttp's request tracing, so it
sees the bodies and statuses exactly as they went out, whatever the delivery code batches,
retries or drops. It keeps the last ``LIMIT`` attempts, never the ``Authorization`` header.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal

import aiohttp

LIMIT = 500
Kind = Literal["callback", "eventgrid"]


def _events(body: bytes) -> list[dict[str, Any]]:
    """Type and call (or room) of each event a delivery body carries."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return []
    found = []
    for event in parsed if isinstance(parsed, list) else [parsed]:
        if not isinstance(event, dict):
            continue
        data: dict[str, Any] = event["data"] if isinstance(event.get("data"), dict) else {}
        kind = str(event.get("type") or event.get("eventType") or "?").removeprefix(
            "Microsoft.Communication."
        )
        found.append(
            {
                "type": kind,
                "callConnectionId": data.get("callConnectionId"),
                "operationContext": data.get("operationContext"),
                "subject": event.get("subject"),
            }
        )
    return found


class DeliveryLog:
    def __init__(self, now: Callable[[], datetime], *, limit: int = LIMIT) -> None:
        self._now = now
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._ids = itertools.count(1)
        # Told of every attempt that ended (the console's live feed).
        self.on_change: Callable[[], None] | None = None

    def entries(self) -> list[dict[str, Any]]:
        """Attempts, oldest first."""
        return [dict(entry) for entry in self._entries]

    def trace_config(self, kind: Kind) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def started(
            session: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestStartParams
        ) -> None:
            ctx.entry = {
                "id": next(self._ids),
                "kind": kind,
                "at": self._now().isoformat(),
                "url": str(params.url),
                "events": [],
                "status": None,
                "error": None,
            }
            ctx.body = b""

        async def sent(
            session: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestChunkSentParams
        ) -> None:
            ctx.body += params.chunk

        async def ended(
            session: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams
        ) -> None:
            self._finish(ctx, status=params.response.status)

        async def failed(
            session: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestExceptionParams
        ) -> None:
            self._finish(ctx, error=repr(params.exception))

        config.on_request_start.append(started)
        config.on_request_chunk_sent.append(sent)
        config.on_request_end.append(ended)
        config.on_request_exception.append(failed)
        return config

    def _finish(self, ctx: SimpleNamespace, *, status: int | None = None, error: str | None = None) -> None:
        entry = getattr(ctx, "entry", None)
        if entry is None:
            return
        entry.update(status=status, error=error, events=_events(ctx.body))
        self._entries.append(entry)
        if self.on_change is not None:
            self.on_change()
