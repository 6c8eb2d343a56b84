"""Durable intake of callback events: stored before ACS gets its answer, processed at least once.

ACS delivers again what it has not seen acknowledged, so `POST /api/callbacks` answers 2xx only
once its verified events are in the state store's inbox, written atomically with the duplicate
check (`StateStore.ingest`). The fresh events then go to the per-call dispatcher; when the pipeline
has run every handler on one, it is taken out of the inbox. Completions are written in batches in
the background: a crash between a handler's work and its completion only means the event is
processed again, which the handler contract allows (handlers are idempotent per event id).

At start-up the inbox is read back and every unfinished event is processed again, in arrival
order, before the server takes new callbacks.

With several replicas on one store, every replica takes callbacks in, but only the leader
(`bot.cluster`) processes: it reads the shared inbox every `POLL_SECONDS` for what the others
stored, and a replica that stops leading drops what it had queued (the inbox still has it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from bot.dispatch import CallDispatcher
from bot.events import CallEvent, EventParseError, parse_event
from bot.state.base import InboxEvent, StateStore, StateStoreError

logger = logging.getLogger(f"roombot.{__name__}")

# How often the leader of several replicas looks for events the others took in.
POLL_SECONDS = 0.05
# Completions are written this long after the first of a batch, or at once when this many wait:
# how soon they are written only decides how much a crash makes the bot process again.
COMPLETION_DELAY_SECONDS = 0.05
COMPLETION_BATCH = 256


Process = Callable[[CallEvent], Awaitable[bool]]


class EventIntake:
    def __init__(self, store: StateStore) -> None:
        self._store = store
        # Set while this process leads: returns True when an event is finished with, False when
        # it is held back (it arrived before its call was registered) to be processed later.
        self._process: Process | None = None
        self.dispatcher = CallDispatcher(self._run)
        # Queued here and not yet taken out of the inbox: what a poll must not queue again.
        self._queued: set[str] = set()
        # How far a leader of several replicas has read the shared inbox.
        self._cursor = 0
        self._completed: list[str] = []
        self._writer: asyncio.Task[None] | None = None
        self.recovered = 0
        # Callback POSTs open now: under such a load the store's group commit waits for more.
        self._open = 0
        store.expect(lambda: self._open)

    @contextmanager
    def callback_open(self) -> Iterator[None]:
        """Around a callback POST's handling, from its start to its answer (see
        `StateStore.expect`)."""
        self._open += 1
        try:
            yield
        finally:
            self._open -= 1

    def process_with(self, process: Process) -> None:
        """Start processing (this process leads now), with ``process``."""
        self._process = process

    async def pause(self) -> None:
        """Stop processing (no longer the leader): what is queued is dropped, not lost."""
        self._process = None
        await self.dispatcher.clear()
        self._queued.clear()
        self._cursor = 0

    async def receive(self, elements: Sequence[Any], events: Sequence[CallEvent]) -> list[CallEvent]:
        """Store the events (``elements`` are their CloudEvent objects as received) and queue the
        ones never seen before; return those. Raises StateStoreError when the store cannot keep
        them: then nothing is queued and ACS must deliver again."""
        inbox = [
            InboxEvent(event.id, event.call_connection_id, orjson.dumps(element).decode())
            for element, event in zip(elements, events, strict=True)
        ]
        fresh_ids = {stored.event_id for stored in await self._store.ingest(inbox)}
        fresh = []
        for event in events:
            if event.id in fresh_ids:
                fresh_ids.discard(event.id)
                fresh.append(event)
        if self._process is not None:
            self._queue(fresh)
        return fresh

    def _queue(self, events: Iterable[CallEvent]) -> None:
        events = [event for event in events if event.id not in self._queued]
        self._queued.update(event.id for event in events)
        self.dispatcher.submit(events)

    def submit(self, events: Iterable[CallEvent]) -> None:
        """Queue events that are not (or no longer) in the inbox: early events handed back by the
        registry, events the bot makes up itself. Completing them is harmless."""
        self.dispatcher.submit(events)

    async def recover(self) -> int:
        """Queue every event of the inbox not queued yet, oldest first; return how many: at
        start-up what a crash left, when a term begins what the replica that led before left."""
        events = self._parsed(await self._store.pending_events(exclude=self._queued))
        self._queue(events)
        self.recovered += len(events)
        return len(events)

    def _parsed(self, stored: Sequence[InboxEvent]) -> list[CallEvent]:
        events = []
        for entry in stored:
            try:
                events.append(parse_event(orjson.loads(entry.body)))
            except (ValueError, EventParseError) as exc:
                # Only what parsed once is stored; a body that no longer parses (a model changed
                # between versions) is dropped loudly rather than blocking its call forever.
                logger.error("dropping stored event %s that no longer parses: %s", entry.event_id, exc)
                self.completed(entry.event_id)
        return events

    async def poll(self) -> None:
        """While leading several replicas: queue what the others take in, as it comes. Reads on
        from where the last look ended, so a backlog is not read again every time."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                stored, self._cursor = await self._store.pending_since(self._cursor, exclude=self._queued)
            except StateStoreError as exc:
                logger.warning("cannot read the inbox: %s", exc)
                continue
            self._queue(self._parsed(stored))

    async def _run(self, event: CallEvent) -> None:
        if self._process is not None and await self._process(event):
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
                continue
            self._queued.difference_update(batch)

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
