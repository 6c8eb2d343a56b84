"""Durable intake of callback events: stored before ACS gets its answer, processed at least once.

ACS delivers again what it has not seen acknowledged, so `POST /api/callbacks` answers 2xx only
once its verified events are in the state store's inbox, written atomically with the duplicate
check (`StateStore.ingest`). The fresh events then go to the per-call dispatcher; when the pipeline
has run every handler on one, it is taken out of the inbox. Completions are written in batches in
the background: a crash between a handler's work and its completion only means the event is
processed again, which the handler contract allows (handlers are idempotent per event id).

At start-up the inbox is read back and every unfinished event is processed again, in arrival
order, before the server takes new callbacks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from bot.dispatch import CallDispatcher
from bot.events import CallEvent, EventParseError, parse_event
from bot.state.base import InboxEvent, StateStore, StateStoreError

logger = logging.getLogger(f"roombot.{__name__}")

# Completions are written this long after the first of a batch, or at once when this many wait:
# how soon they are written only decides how much a crash makes the bot process again.
COMPLETION_DELAY_SECONDS = 0.05
COMPLETION_BATCH = 256


class EventIntake:
    def __init__(self, store: StateStore, process: Callable[[CallEvent], Awaitable[bool]]) -> None:
        """``process`` returns True when the event is finished with, False when it is held back
        (an event that arrived before its call was registered) to be processed again later."""
        self._store = store
        self._process = process
        self.dispatcher = CallDispatcher(self._run)
        self._completed: list[str] = []
        self._writer: asyncio.Task[None] | None = None
        self.recovered = 0

    async def receive(self, elements: Sequence[Any], events: Sequence[CallEvent]) -> list[CallEvent]:
        """Store the events (``elements`` are their CloudEvent objects as received) and queue the
        ones never seen before; return those. Raises StateStoreError when the store cannot keep
        them: then nothing is queued and ACS must deliver again."""
        inbox = [
            InboxEvent(event.id, event.call_connection_id, json.dumps(element, separators=(",", ":")))
            for element, event in zip(elements, events, strict=True)
        ]
        fresh_ids = {stored.event_id for stored in await self._store.ingest(inbox)}
        fresh = []
        for event in events:
            if event.id in fresh_ids:
                fresh_ids.discard(event.id)
                fresh.append(event)
        self.dispatcher.submit(fresh)
        return fresh

    def submit(self, events: Iterable[CallEvent]) -> None:
        """Queue events that are not (or no longer) in the inbox: early events handed back by the
        registry, events the bot makes up itself. Completing them is harmless."""
        self.dispatcher.submit(events)

    async def recover(self) -> int:
        """Queue every event of the inbox again, oldest first; return how many."""
        events = []
        for stored in await self._store.pending_events():
            try:
                events.append(parse_event(json.loads(stored.body)))
            except (ValueError, EventParseError) as exc:
                # Only what parsed once is stored; a body that no longer parses (a model changed
                # between versions) is dropped loudly rather than blocking its call forever.
                logger.error("dropping stored event %s that no longer parses: %s", stored.event_id, exc)
                self.completed(stored.event_id)
        self.dispatcher.submit(events)
        self.recovered = len(events)
        if events:
            logger.info("processing %d unfinished events from before the restart", len(events))
        return len(events)

    async def _run(self, event: CallEvent) -> None:
        if await self._process(event):
            self.completed(event.id)

    def completed(self, event_id: str) -> None:
        """Take an event out of the inbox (soon, in a batch with others)."""
        self._completed.append(event_id)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_completions(), name="inbox-completions")

    async def _write_completions(self) -> None:
        while self._completed:
            if len(self._completed) < COMPLETION_BATCH:
                await asyncio.sleep(COMPLETION_DELAY_SECONDS)
            batch = self._completed[:COMPLETION_BATCH]
            del self._completed[:COMPLETION_BATCH]
            try:
                await self._store.complete_events(batch)
            except StateStoreError as exc:
                # They stay in the inbox and are processed again at the next start: at least once.
                logger.warning("could not mark %d processed events done: %s", len(batch), exc)

    async def drain(self) -> None:
        """Wait until every queued event is processed and its completion written."""
        await self.dispatcher.drain()
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def close(self) -> None:
        """Stop processing; write the completions already made. Unfinished events stay stored."""
        await self.dispatcher.close()
        if self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
