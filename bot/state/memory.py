"""In-process state store: for tests, demos and single-run bots that need no restart.

No method awaits between reading and writing, so on one event loop every operation is atomic.
Values are stored serialized, as the other backends store them: callers get copies, and a value
JSON cannot hold fails here exactly as it would in production.

Indexes keep every cost flat: calls in start order (all, live, and live per room) for lists,
pages and room lookups; seen event ids in expiry order (a deque: the expiry is a fixed time after
marking); finished calls in end order (a heap) for retention.
"""

from __future__ import annotations

import heapq
import time
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from bot.state.base import (
    DEFAULT_MAX_EVENTS,
    DEFAULT_RETENTION_SECONDS,
    HOUSEKEEPING_BATCH,
    SEEN_EVENT_TTL_SECONDS,
    CallRecord,
    InboxEvent,
    StateStoreError,
    check_limit,
    dump_doc,
    load_doc,
)

# What the indexes know of a call: (started_at timestamp, id), room, end timestamp when over.
_Key = tuple[float, str]


class MemoryStateStore:
    shared = False

    def __init__(
        self,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        seen_ttl_seconds: float = SEEN_EVENT_TTL_SECONDS,
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
    ) -> None:
        self._max_events = max_events
        self._seen_ttl = seen_ttl_seconds
        self._retention = retention_seconds
        self._calls: dict[str, str] = {}
        self._meta: dict[str, tuple[_Key, str, float | None]] = {}
        # Sorted lists (bisect): calls start in about time order, so inserts land at the end.
        self._all: list[_Key] = []
        self._live: list[_Key] = []
        self._rooms: dict[str, set[_Key]] = {}
        self._ended: list[tuple[float, str]] = []
        self._events: dict[str, deque[str]] = {}
        self._seen: dict[str, float] = {}
        self._expiry: deque[tuple[float, str]] = deque()
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

    def _store_call(self, record: CallRecord) -> None:
        cid = record.call_connection_id
        key = (record.started_at.timestamp(), cid)
        ended = None if record.is_live else (record.ended_at or record.started_at).timestamp()
        meta = (key, record.room_id, ended)
        self._calls[cid] = record.to_json()
        if self._meta.get(cid) == meta:
            # Indexed where it belongs already: most updates (participants, ids) move nothing.
            return
        self._unindex(cid)
        self._meta[cid] = meta
        insort(self._all, key)
        if ended is None:
            insort(self._live, key)
            self._rooms.setdefault(record.room_id, set()).add(key)
        else:
            heapq.heappush(self._ended, (ended, cid))

    def _unindex(self, cid: str) -> None:
        meta = self._meta.pop(cid, None)
        if meta is None:
            return
        key, room_id, ended = meta
        _remove(self._all, key)
        if ended is None:
            _remove(self._live, key)
            room = self._rooms.get(room_id)
            if room is not None:
                room.discard(key)
                if not room:
                    del self._rooms[room_id]

    async def put_call(self, record: CallRecord) -> None:
        self._check_open()
        self._store_call(record)

    async def get_call(self, call_connection_id: str) -> CallRecord | None:
        self._check_open()
        stored = self._calls.get(call_connection_id)
        return CallRecord.from_json(stored) if stored is not None else None

    def _records(self, keys: Iterable[_Key]) -> list[CallRecord]:
        return [CallRecord.from_json(self._calls[cid]) for _, cid in keys]

    async def list_calls(self, live_only: bool = True) -> list[CallRecord]:
        self._check_open()
        return self._records(list(self._live if live_only else self._all))

    def _matching(self, after: _Key | None, room_prefix: str | None, live_only: bool) -> Iterable[_Key]:
        index = self._live if live_only else self._all
        keys: Iterable[_Key] = index if after is None else index[bisect_right(index, after) :]
        if room_prefix:
            keys = (key for key in keys if self._meta[key[1]][1].startswith(room_prefix))
        return keys

    async def page_calls(
        self,
        *,
        limit: int,
        after: tuple[float, str] | None = None,
        room_prefix: str | None = None,
        live_only: bool = True,
    ) -> list[CallRecord]:
        self._check_open()
        page: list[_Key] = []
        for key in self._matching(after, room_prefix, live_only):
            if len(page) >= limit:
                break
            page.append(key)
        return self._records(page)

    async def count_calls(self, *, room_prefix: str | None = None, live_only: bool = True) -> int:
        self._check_open()
        if not room_prefix:
            return len(self._live if live_only else self._all)
        return sum(1 for _ in self._matching(None, room_prefix, live_only))

    async def find_live_call_by_room(self, room_id: str) -> CallRecord | None:
        self._check_open()
        live = self._rooms.get(room_id)
        return self._records([max(live)])[0] if live else None

    async def append_event(self, call_connection_id: str, entry: dict[str, Any]) -> None:
        self._check_open()
        serialized = dump_doc(entry)
        history = self._events.setdefault(call_connection_id, deque(maxlen=self._max_events))
        history.append(serialized)

    async def put_call_with_event(self, record: CallRecord, entry: dict[str, Any]) -> None:
        self._check_open()
        serialized = dump_doc(entry)
        # Both writes happen without an await in between, after the only step that can fail.
        self._store_call(record)
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
        now = time.time()
        expires = self._seen.get(event_id)
        if expires is not None and expires > now:
            return False
        expires = self._seen[event_id] = now + self._seen_ttl
        self._expiry.append((expires, event_id))
        # Two expired ids go for each new one: the set stays bounded without a housekeeper.
        self._expire(now, 2)
        return True

    def _expire(self, now: float, most: int) -> int:
        removed = 0
        expiry = self._expiry
        while removed < most and expiry and expiry[0][0] <= now:
            expires, event_id = expiry.popleft()
            # An id marked again after it expired has a later entry: only that one counts.
            if self._seen.get(event_id) == expires:
                del self._seen[event_id]
            removed += 1
        return removed

    async def housekeep(self, now: float | None = None) -> int:
        self._check_open()
        moment = time.time() if now is None else now
        removed = self._expire(moment, HOUSEKEEPING_BATCH)
        cutoff = moment - self._retention
        while self._ended and self._ended[0][0] <= cutoff and removed < HOUSEKEEPING_BATCH:
            ended, cid = heapq.heappop(self._ended)
            meta = self._meta.get(cid)
            # Stale when the call was stored again since (it cannot end twice, but be sure).
            if meta is not None and meta[2] == ended:
                self._unindex(cid)
                del self._calls[cid]
                self._events.pop(cid, None)
            removed += 1
        return removed

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

    def forget_cached(self) -> None:
        """Nothing is cached: every read is of the store itself."""

    def expect(self, open_callbacks: Callable[[], int]) -> None:
        """Nothing to wait for: every write is done when it returns."""

    async def ping(self) -> None:
        self._check_open()

    async def close(self) -> None:
        self._closed = True


def _remove(keys: list[_Key], key: _Key) -> None:
    index = bisect_left(keys, key)
    if index < len(keys) and keys[index] == key:
        del keys[index]
