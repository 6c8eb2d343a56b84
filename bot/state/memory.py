"""In-process state store: for tests, demos and single-run bots that need no restart.

No method awaits between reading and writing, so on one event loop every operation is atomic.
Values are stored serialized, as the other backends store them: callers get copies, and a value
JSON cannot hold fails here exactly as it would in production.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Collection, Sequence
from typing import Any

from bot.state.base import (
    DEFAULT_MAX_EVENTS,
    SEEN_EVENT_TTL_SECONDS,
    CallRecord,
    InboxEvent,
    StateStoreError,
    check_limit,
    dump_doc,
    load_doc,
)


class MemoryStateStore:
    shared = False

    def __init__(
        self, *, max_events: int = DEFAULT_MAX_EVENTS, seen_ttl_seconds: float = SEEN_EVENT_TTL_SECONDS
    ) -> None:
        self._max_events = max_events
        self._seen_ttl = seen_ttl_seconds
        self._calls: dict[str, str] = {}
        self._events: dict[str, deque[str]] = {}
        self._seen: dict[str, float] = {}
        self._marks = 0
        self._docs: dict[str, dict[str, str]] = {}
        # Insertion-ordered: arrival order across calls.
        self._inbox: dict[str, InboxEvent] = {}
        self._inbox_seq: dict[str, int] = {}
        self._seq = 0
        self._leases: dict[str, tuple[str, float]] = {}
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StateStoreError("memory state store is closed")

    async def put_call(self, record: CallRecord) -> None:
        self._check_open()
        self._calls[record.call_connection_id] = record.to_json()

    async def get_call(self, call_connection_id: str) -> CallRecord | None:
        self._check_open()
        stored = self._calls.get(call_connection_id)
        return CallRecord.from_json(stored) if stored is not None else None

    async def list_calls(self, live_only: bool = True) -> list[CallRecord]:
        self._check_open()
        records = [CallRecord.from_json(stored) for stored in self._calls.values()]
        return sorted(
            (r for r in records if r.is_live or not live_only),
            key=lambda r: (r.started_at, r.call_connection_id),
        )

    async def find_live_call_by_room(self, room_id: str) -> CallRecord | None:
        live = [r for r in await self.list_calls(live_only=True) if r.room_id == room_id]
        return live[-1] if live else None

    async def append_event(self, call_connection_id: str, entry: dict[str, Any]) -> None:
        self._check_open()
        serialized = dump_doc(entry)
        history = self._events.setdefault(call_connection_id, deque(maxlen=self._max_events))
        history.append(serialized)

    async def put_call_with_event(self, record: CallRecord, entry: dict[str, Any]) -> None:
        self._check_open()
        serialized = dump_doc(entry)
        # Both writes happen without an await in between, after the only step that can fail.
        self._calls[record.call_connection_id] = record.to_json()
        history = self._events.setdefault(record.call_connection_id, deque(maxlen=self._max_events))
        history.append(serialized)

    async def events(self, call_connection_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        self._check_open()
        history = list(self._events.get(call_connection_id, ()))
        limit = check_limit(limit)
        if limit is not None:
            history = history[-limit:] if limit else []
        return [load_doc(entry) for entry in history]

    async def mark_event_seen(self, event_id: str) -> bool:
        self._check_open()
        return self._mark(event_id)

    async def mark_events_seen(self, event_ids: Sequence[str]) -> set[str]:
        self._check_open()
        return {event_id for event_id in event_ids if self._mark(event_id)}

    def _mark(self, event_id: str) -> bool:
        now = time.monotonic()
        expires = self._seen.get(event_id)
        if expires is not None and expires > now:
            return False
        self._seen[event_id] = now + self._seen_ttl
        self._marks += 1
        # Expired ids are swept now and then so a long-running bot does not grow without bound.
        if self._marks % 1024 == 0:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
        return True

    async def ingest(self, events: Sequence[InboxEvent]) -> list[InboxEvent]:
        self._check_open()
        fresh = [event for event in events if self._mark(event.event_id)]
        for event in fresh:
            self._seq += 1
            self._inbox[event.event_id] = event
            self._inbox_seq[event.event_id] = self._seq
        return fresh

    async def complete_events(self, event_ids: Sequence[str]) -> None:
        self._check_open()
        for event_id in event_ids:
            self._inbox.pop(event_id, None)
            self._inbox_seq.pop(event_id, None)

    async def pending_events(
        self, call_connection_id: str | None = None, *, exclude: Collection[str] = ()
    ) -> list[InboxEvent]:
        self._check_open()
        return [
            event
            for event in self._inbox.values()
            if call_connection_id in (None, event.call_connection_id) and event.event_id not in exclude
        ]

    async def pending_since(
        self, cursor: int, *, exclude: Collection[str] = ()
    ) -> tuple[list[InboxEvent], int]:
        self._check_open()
        newer = [(seq, event_id) for event_id, seq in self._inbox_seq.items() if seq > cursor]
        events = [self._inbox[event_id] for _, event_id in newer if event_id not in exclude]
        return events, max((seq for seq, _ in newer), default=cursor)

    async def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        self._check_open()
        now = time.monotonic()
        holder = self._leases.get(name)
        if holder is not None and holder[0] != owner and holder[1] > now:
            return False
        self._leases[name] = (owner, now + ttl_seconds)
        return True

    async def release_lease(self, name: str, owner: str) -> None:
        self._check_open()
        holder = self._leases.get(name)
        if holder is not None and holder[0] == owner:
            del self._leases[name]

    async def lease_owner(self, name: str) -> str | None:
        self._check_open()
        holder = self._leases.get(name)
        return holder[0] if holder is not None and holder[1] > time.monotonic() else None

    async def get_doc(self, namespace: str, key: str) -> dict[str, Any] | None:
        self._check_open()
        stored = self._docs.get(namespace, {}).get(key)
        return load_doc(stored) if stored is not None else None

    async def put_doc(self, namespace: str, key: str, doc: dict[str, Any]) -> None:
        self._check_open()
        self._docs.setdefault(namespace, {})[key] = dump_doc(doc)

    async def put_doc_if_absent(self, namespace: str, key: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        self._check_open()
        docs = self._docs.setdefault(namespace, {})
        existing = docs.get(key)
        if existing is not None:
            return load_doc(existing)
        docs[key] = dump_doc(doc)
        return None

    async def delete_doc(self, namespace: str, key: str) -> None:
        self._check_open()
        self._docs.get(namespace, {}).pop(key, None)

    async def list_docs(self, namespace: str) -> list[dict[str, Any]]:
        self._check_open()
        docs = self._docs.get(namespace, {})
        return [load_doc(docs[key]) for key in sorted(docs)]

    async def ping(self) -> None:
        self._check_open()

    async def close(self) -> None:
        self._closed = True
