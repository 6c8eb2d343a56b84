"""SQLite state store (the default): one file, durable across restarts, single node.

Documents are cached (`bot.state.doccache`): one bot process uses a file and writes all of them,
so a handler reading the same document on every event reads it from memory. Another process on
the same file (a tool, a test) still gets atomic operations, and sees a write-behind once the
writer has asked anything more of its store; documents it changes are not seen by a running bot.

Every operation is one function of the store's one connection (`SqliteWorker`, on the event
loop's thread), and operations queued together share one transaction and one commit (group
commit): an operation returns once it is committed. Several statements of one operation (a call
record with its history entry, a duplicate check with the inbox insert) are atomic because they
run in one transaction, also against another process on the same file (``BEGIN IMMEDIATE``).

History is trimmed lazily: every `TRIM_EVERY` entries of a call, the ones beyond the cap are
deleted in the same transaction, and reads never return more than the cap.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from bot.state import sqlschema as sql
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
from bot.state.doccache import CachedDocs
from bot.state.grouped import Grouped
from bot.state.sqlite_worker import SqliteWorker, Statement

_GET_CALL = "SELECT record FROM calls WHERE call_connection_id = ?"
_GET_DOC = "SELECT doc FROM docs WHERE namespace = ? AND key = ?"
_LIST_ALL = "SELECT record FROM calls ORDER BY started_ts, call_connection_id"
_LIST_LIVE = "SELECT record FROM calls WHERE live = 1 ORDER BY started_ts, call_connection_id"

# Ids per statement: far below SQLite's bound-parameter limit (32766).
_CHUNK = 400
# A call's history is trimmed back to the cap after this many appends.
TRIM_EVERY = 64
# Calls whose append count is tracked at once; past it the counts start again (trims come later).
_TRACKED_CALLS = 10_000


class SqliteStateStore:
    shared = False

    def __init__(
        self,
        worker: SqliteWorker,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        seen_ttl_seconds: float = SEEN_EVENT_TTL_SECONDS,
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
    ) -> None:
        """Wrap a started worker whose schema exists; use `SqliteStateStore.open(path)`."""
        self._worker = worker
        self._max_events = max_events
        self._seen_ttl = seen_ttl_seconds
        self._retention = retention_seconds
        self._appends: dict[str, int] = {}
        self._closed = False
        self._docs = CachedDocs(_SqliteDocs(self))
        self._grouped_ingest = Grouped(self._ingest_many)

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        seen_ttl_seconds: float = SEEN_EVENT_TTL_SECONDS,
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
    ) -> SqliteStateStore:
        """Open (creating the file, its directory and the schema if needed) a store at `path`."""
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            worker = SqliteWorker(str(path))
            await worker.start(sql.upgrade)
        except (sqlite3.Error, OSError) as exc:
            raise StateStoreError(f"cannot open SQLite state store {path}: {exc}") from exc
        return cls(
            worker,
            max_events=max_events,
            seen_ttl_seconds=seen_ttl_seconds,
            retention_seconds=retention_seconds,
        )

    async def _run(self, operation: Any, *, atomic: bool = False) -> Any:
        if self._closed:
            raise StateStoreError("SQLite state store is closed")
        try:
            return await self._worker.run(operation, atomic=atomic)
        except sqlite3.Error as exc:
            raise StateStoreError(f"SQLite state store failed: {exc}") from exc

    def _defer(self, *statements: Statement) -> None:
        if self._closed:
            raise StateStoreError("SQLite state store is closed")
        try:
            self._worker.defer(*statements)
        except sqlite3.Error as exc:
            raise StateStoreError(f"SQLite state store failed: {exc}") from exc

    async def _rows(self, sql_text: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return await self._run(lambda db: db.execute(sql_text, params).fetchall())  # type: ignore[no-any-return]

    async def put_call(self, record: CallRecord) -> None:
        params = sql.call_params(record)
        await self._run(lambda db: db.execute(sql.PUT_CALL, params))

    async def get_call(self, call_connection_id: str) -> CallRecord | None:
        rows = await self._rows(_GET_CALL, (call_connection_id,))
        return CallRecord.from_json(rows[0][0]) if rows else None

    async def list_calls(self, live_only: bool = True) -> list[CallRecord]:
        rows = await self._rows(_LIST_LIVE if live_only else _LIST_ALL)
        return [CallRecord.from_json(row[0]) for row in rows]

    async def page_calls(
        self,
        *,
        limit: int,
        after: tuple[float, str] | None = None,
        room_prefix: str | None = None,
        live_only: bool = True,
    ) -> list[CallRecord]:
        query = sql.page_sql(
            live_only=live_only, after=after is not None, room_prefix=bool(room_prefix), count=False
        )
        rows = await self._rows(query, (*sql.page_params(after, room_prefix), limit))
        return [CallRecord.from_json(row[0]) for row in rows]

    async def count_calls(self, *, room_prefix: str | None = None, live_only: bool = True) -> int:
        query = sql.page_sql(live_only=live_only, after=False, room_prefix=bool(room_prefix), count=True)
        rows = await self._rows(query, sql.page_params(None, room_prefix))
        return int(rows[0][0])

    async def find_live_call_by_room(self, room_id: str) -> CallRecord | None:
        rows = await self._rows(
            "SELECT record FROM calls WHERE live = 1 AND room_id = ?"
            " ORDER BY started_ts DESC, call_connection_id DESC LIMIT 1",
            (room_id,),
        )
        return CallRecord.from_json(rows[0][0]) if rows else None

    def _append_statements(
        self, call_connection_id: str, entry: dict[str, Any]
    ) -> list[tuple[str, tuple[Any, ...]]]:
        statements: list[tuple[str, tuple[Any, ...]]] = [(sql.APPEND, (call_connection_id, dump_doc(entry)))]
        count = self._appends.get(call_connection_id, 0) + 1
        if count >= TRIM_EVERY or len(self._appends) >= _TRACKED_CALLS:
            self._appends.pop(call_connection_id, None)
            statements.append((sql.TRIM, (call_connection_id, self._max_events)))
        else:
            self._appends[call_connection_id] = count
        return statements

    async def append_event(self, call_connection_id: str, entry: dict[str, Any]) -> None:
        # Deferred: written in its turn (before anything asked for later), awaited by nobody.
        self._defer(*self._append_statements(call_connection_id, entry))

    async def put_call_with_event(self, record: CallRecord, entry: dict[str, Any]) -> None:
        statements = self._append_statements(record.call_connection_id, entry)
        self._defer((sql.PUT_CALL, sql.call_params(record)), *statements)

    async def events(self, call_connection_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        limit = check_limit(limit)
        newest = self._max_events if limit is None else min(limit, self._max_events)
        rows = await self._rows(
            "SELECT entry FROM (SELECT seq, entry FROM events WHERE call_connection_id = ?"
            " ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            (call_connection_id, newest),
        )
        return [load_doc(row[0]) for row in rows]

    def _mark_op(self, event_ids: Sequence[str]) -> Any:
        unique = list(dict.fromkeys(event_ids))
        now = time.time()
        expires = now + self._seen_ttl

        def mark(db: sqlite3.Connection) -> set[str]:
            first: set[str] = set()
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                params: list[Any] = []
                for event_id in chunk:
                    params += (event_id, expires)
                rows = db.execute(sql.mark_sql(len(chunk)), (*params, now)).fetchall()
                first.update(str(row[0]) for row in rows)
            return first

        return mark

    async def mark_event_seen(self, event_id: str) -> bool:
        return event_id in await self.mark_events_seen([event_id])

    async def mark_events_seen(self, event_ids: Sequence[str]) -> set[str]:
        return await self._run(self._mark_op(event_ids), atomic=True)  # type: ignore[no-any-return]

    async def ingest(self, events: Sequence[InboxEvent]) -> list[InboxEvent]:
        if not events:
            return []
        # With the ingests of other POSTs made meanwhile: one operation, two statements for all.
        fresh = await self._grouped_ingest(events)
        return [event for event, new in zip(events, fresh, strict=True) if new]

    async def _ingest_many(self, events: list[InboxEvent]) -> list[bool]:
        mark = self._mark_op([event.event_id for event in events])

        def ingest(db: sqlite3.Connection) -> list[bool]:
            first = mark(db)
            flags = []
            for event in events:
                # An id repeated among the events is new at its first place only.
                flags.append(event.event_id in first)
                first.discard(event.event_id)
            db.executemany(
                "INSERT OR IGNORE INTO inbox (event_id, call_connection_id, body) VALUES (?, ?, ?)",
                [
                    (event.event_id, event.call_connection_id, event.body)
                    for event, new in zip(events, flags, strict=True)
                    if new
                ],
            )
            return flags

        return await self._run(ingest, atomic=True)  # type: ignore[no-any-return]

    async def complete_events(self, event_ids: Sequence[str]) -> None:
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return
        worker = self._worker

        def complete(db: sqlite3.Connection) -> None:
            # A deferred write (a history entry, a call record) that failed must not be taken for
            # done: the events stay in the inbox, and a restart processes them again.
            if worker.deferred_error is not None:
                raise StateStoreError(f"a deferred write failed: {worker.deferred_error}")
            db.executemany("DELETE FROM inbox WHERE event_id = ?", [(event_id,) for event_id in ids])

        await self._run(complete, atomic=True)

    async def housekeep(self, now: float | None = None) -> int:
        moment = time.time() if now is None else now
        batch = HOUSEKEEPING_BATCH
        retention = self._retention

        def step(db: sqlite3.Connection) -> int:
            removed = db.execute(sql.EXPIRE_SEEN, (moment, batch)).rowcount
            for (call_id,) in db.execute(sql.ENDED_BEFORE, (moment - retention, batch)).fetchall():
                removed += db.execute(sql.DELETE_HISTORY, (call_id, batch)).rowcount
                if db.execute(sql.HAS_HISTORY, (call_id,)).fetchone() is None:
                    removed += db.execute(sql.DELETE_CALL, (call_id,)).rowcount
                if removed >= batch:
                    break
            return int(removed)

        return await self._run(step, atomic=True)  # type: ignore[no-any-return]

    async def pending_events(
        self, call_connection_id: str | None = None, *, exclude: Collection[str] = ()
    ) -> list[InboxEvent]:
        if call_connection_id is None:
            rows = await self._rows("SELECT event_id, call_connection_id, body FROM inbox ORDER BY seq")
        else:
            rows = await self._rows(
                "SELECT event_id, call_connection_id, body FROM inbox WHERE call_connection_id = ?"
                " ORDER BY seq",
                (call_connection_id,),
            )
        return [InboxEvent(str(row[0]), str(row[1]), str(row[2])) for row in rows if row[0] not in exclude]

    async def pending_since(
        self, cursor: int, *, exclude: Collection[str] = ()
    ) -> tuple[list[InboxEvent], int]:
        rows = await self._rows(
            "SELECT event_id, call_connection_id, body, seq FROM inbox WHERE seq > ? ORDER BY seq", (cursor,)
        )
        events = [InboxEvent(str(row[0]), str(row[1]), str(row[2])) for row in rows if row[0] not in exclude]
        return events, max((int(row[3]) for row in rows), default=cursor)

    async def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        def acquire(db: sqlite3.Connection) -> bool:
            now = time.time()
            # Inserted, or taken over (expired, or ours already): RETURNING says which.
            row = db.execute(
                "INSERT INTO leases (name, owner, expires_at) VALUES (?1, ?2, ?3)"
                " ON CONFLICT (name) DO UPDATE SET owner = ?2, expires_at = ?3"
                " WHERE leases.owner = ?2 OR leases.expires_at <= ?4 RETURNING name",
                (name, owner, now + ttl_seconds, now),
            ).fetchone()
            return row is not None

        return await self._run(acquire)  # type: ignore[no-any-return]

    async def release_lease(self, name: str, owner: str) -> None:
        await self._run(
            lambda db: db.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))
        )

    async def lease_owner(self, name: str) -> str | None:
        rows = await self._rows(
            "SELECT owner FROM leases WHERE name = ? AND expires_at > ?", (name, time.time())
        )
        return str(rows[0][0]) if rows else None

    async def get_doc(self, namespace: str, key: str) -> dict[str, Any] | None:
        return await self._docs.get(namespace, key)

    async def put_doc(self, namespace: str, key: str, doc: dict[str, Any]) -> None:
        await self._docs.put(namespace, key, doc)

    async def put_doc_if_absent(self, namespace: str, key: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        return await self._docs.put_if_absent(namespace, key, doc)

    async def delete_doc(self, namespace: str, key: str) -> None:
        await self._docs.delete(namespace, key)

    async def list_docs(self, namespace: str) -> list[dict[str, Any]]:
        return await self._docs.listing(namespace)

    def forget_cached(self) -> None:
        self._docs.cache.forget()

    def expect(self, open_callbacks: Callable[[], int]) -> None:
        self._grouped_ingest.open_callbacks = open_callbacks
        self._worker.open_callbacks = open_callbacks

    async def ping(self) -> None:
        await self._rows("SELECT 1")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._worker.close()


class _SqliteDocs:
    """The documents table, uncached (`CachedDocs` caches it)."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store

    async def get_text(self, namespace: str, key: str) -> str | None:
        rows = await self._store._rows(_GET_DOC, (namespace, key))
        return str(rows[0][0]) if rows else None

    async def put_text(self, namespace: str, key: str, text: str) -> None:
        sql_text = "INSERT OR REPLACE INTO docs (namespace, key, doc) VALUES (?, ?, ?)"
        await self._store._run(lambda db: db.execute(sql_text, (namespace, key, text)))

    async def put_text_if_absent(self, namespace: str, key: str, text: str) -> str | None:
        def put(db: sqlite3.Connection) -> str | None:
            cursor = db.execute(
                "INSERT INTO docs (namespace, key, doc) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (namespace, key, text),
            )
            if cursor.rowcount == 1:
                return None
            row = db.execute(_GET_DOC, (namespace, key)).fetchone()
            if row is None:
                raise StateStoreError(f"document {namespace}/{key} vanished inside a transaction")
            return str(row[0])

        return await self._store._run(put, atomic=True)  # type: ignore[no-any-return]

    async def delete_text(self, namespace: str, key: str) -> None:
        sql_text = "DELETE FROM docs WHERE namespace = ? AND key = ?"
        await self._store._run(lambda db: db.execute(sql_text, (namespace, key)))

    async def list_texts(self, namespace: str) -> dict[str, str]:
        rows = await self._store._rows("SELECT key, doc FROM docs WHERE namespace = ?", (namespace,))
        return {str(row[0]): str(row[1]) for row in rows}
