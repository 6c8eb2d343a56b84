"""SQLite state store (the default): one file, durable across restarts.

One aiosqlite connection in autocommit mode, WAL journal so readers never block the writer. The
connection is shared by every coroutine of the bot, and a transaction on it is shared too, so
operations that need several statements run inside `BEGIN IMMEDIATE` with the connection alone
(`ConnectionGate`), which also keeps them atomic against another process using the same file.

Each statement costs a hop to aiosqlite's worker thread, and a callback event is a few writes, so
the hot writes are single statements: a history entry (with the record and the trim) is one INSERT
into a per-connection TEMP view whose INSTEAD OF trigger does the work, and duplicate marks are one
upsert with RETURNING. A single statement is its own transaction, atomic like `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.state.base import (
    DEFAULT_MAX_EVENTS,
    SEEN_EVENT_TTL_SECONDS,
    CallRecord,
    StateStoreError,
    check_limit,
    dump_doc,
    load_doc,
)
from bot.state.sqlite_gate import ConnectionGate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_connection_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    live INTEGER NOT NULL,
    started_ts REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_live_room ON calls (live, room_id, started_ts);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    call_connection_id TEXT NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_call ON events (call_connection_id, seq);
CREATE TABLE IF NOT EXISTS seen_events (
    event_id TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS docs (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""

# Per connection (TEMP), so each store trims to its own `max_events`. A row with a NULL record only
# appends the entry; unqualified table names in a TEMP trigger resolve to the main database.
_CALL_WRITES = """
CREATE TEMP VIEW IF NOT EXISTS call_writes AS SELECT
    NULL AS call_connection_id, NULL AS room_id, NULL AS live, NULL AS started_ts, NULL AS record,
    NULL AS entry
WHERE 0;
CREATE TEMP TRIGGER IF NOT EXISTS call_writes_apply INSTEAD OF INSERT ON call_writes BEGIN
    INSERT OR REPLACE INTO calls (call_connection_id, room_id, live, started_ts, record)
        SELECT NEW.call_connection_id, NEW.room_id, NEW.live, NEW.started_ts, NEW.record
        WHERE NEW.record IS NOT NULL;
    INSERT INTO events (call_connection_id, entry) VALUES (NEW.call_connection_id, NEW.entry);
    DELETE FROM events WHERE call_connection_id = NEW.call_connection_id AND seq <= (
        SELECT seq FROM events WHERE call_connection_id = NEW.call_connection_id
        ORDER BY seq DESC LIMIT 1 OFFSET {max_events});
END;
"""
_WRITE_CALL = (
    "INSERT INTO call_writes (call_connection_id, room_id, live, started_ts, record, entry)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)

# Ids per upsert statement: far below SQLite's bound-parameter limit (32766).
_MARK_CHUNK = 400


@functools.cache
def _mark_sql(count: int) -> str:
    rows = ", ".join(["(?, ?)"] * count)
    # Only placeholders are formatted in; every value is bound.
    return (
        f"INSERT INTO seen_events (event_id, expires_at) VALUES {rows}"  # noqa: S608
        " ON CONFLICT (event_id) DO UPDATE SET expires_at = excluded.expires_at"
        " WHERE seen_events.expires_at <= ? RETURNING event_id"
    )


_LIST_ALL = "SELECT record FROM calls ORDER BY started_ts, call_connection_id"
_LIST_LIVE = "SELECT record FROM calls WHERE live = 1 ORDER BY started_ts, call_connection_id"

# Wait this long for another process's write lock before failing with "database is locked".
_BUSY_TIMEOUT_MS = 5000


class SqliteStateStore:
    def __init__(
        self,
        connection: aiosqlite.Connection,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        seen_ttl_seconds: float = SEEN_EVENT_TTL_SECONDS,
    ) -> None:
        """Wrap an open connection whose schema exists; use `SqliteStateStore.open(path)`."""
        self._db = connection
        self._max_events = max_events
        self._seen_ttl = seen_ttl_seconds
        self._marks = 0
        self._closed = False
        self._gate = ConnectionGate()

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        seen_ttl_seconds: float = SEEN_EVENT_TTL_SECONDS,
    ) -> SqliteStateStore:
        """Open (creating the file, its directory and the schema if needed) a store at `path`."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StateStoreError(f"cannot open SQLite state store {path}: {exc}") from exc
        try:
            await connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            await connection.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode loses at most the last transactions on power loss, never consistency.
            await connection.execute("PRAGMA synchronous = NORMAL")
            await connection.executescript(_SCHEMA)
            await connection.executescript(_CALL_WRITES.format(max_events=int(max_events)))
            await connection.execute("DELETE FROM seen_events WHERE expires_at <= ?", (time.time(),))
        except sqlite3.Error as exc:
            await connection.close()
            raise StateStoreError(f"cannot open SQLite state store {path}: {exc}") from exc
        return cls(connection, max_events=max_events, seen_ttl_seconds=seen_ttl_seconds)

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for single statements, which run in the order they are awaited."""
        async with self._gate.shared():
            if self._closed:
                raise StateStoreError("SQLite state store is closed")
            yield self._db

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._gate.exclusive():
            if self._closed:
                raise StateStoreError("SQLite state store is closed")
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._locked() as db:
            return list(await db.execute_fetchall(sql, tuple(params)))

    async def put_call(self, record: CallRecord) -> None:
        async with self._locked() as db:
            await db.execute(
                "INSERT OR REPLACE INTO calls (call_connection_id, room_id, live, started_ts, record)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    record.call_connection_id,
                    record.room_id,
                    int(record.is_live),
                    record.started_at.timestamp(),
                    record.to_json(),
                ),
            )

    async def get_call(self, call_connection_id: str) -> CallRecord | None:
        rows = await self._fetch(
            "SELECT record FROM calls WHERE call_connection_id = ?", (call_connection_id,)
        )
        return CallRecord.from_json(rows[0][0]) if rows else None

    async def list_calls(self, live_only: bool = True) -> list[CallRecord]:
        rows = await self._fetch(_LIST_LIVE if live_only else _LIST_ALL)
        return [CallRecord.from_json(row[0]) for row in rows]

    async def find_live_call_by_room(self, room_id: str) -> CallRecord | None:
        rows = await self._fetch(
            "SELECT record FROM calls WHERE live = 1 AND room_id = ?"
            " ORDER BY started_ts DESC, call_connection_id DESC LIMIT 1",
            (room_id,),
        )
        return CallRecord.from_json(rows[0][0]) if rows else None

    async def append_event(self, call_connection_id: str, entry: dict[str, Any]) -> None:
        serialized = dump_doc(entry)
        async with self._locked() as db:
            await db.execute(_WRITE_CALL, (call_connection_id, None, None, None, None, serialized))

    async def put_call_with_event(self, record: CallRecord, entry: dict[str, Any]) -> None:
        serialized = dump_doc(entry)
        params = (
            record.call_connection_id,
            record.room_id,
            int(record.is_live),
            record.started_at.timestamp(),
            record.to_json(),
            serialized,
        )
        async with self._locked() as db:
            await db.execute(_WRITE_CALL, params)

    async def events(self, call_connection_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        limit = check_limit(limit)
        rows = await self._fetch(
            "SELECT entry FROM (SELECT seq, entry FROM events WHERE call_connection_id = ?"
            " ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            (call_connection_id, -1 if limit is None else limit),
        )
        return [load_doc(row[0]) for row in rows]

    async def mark_event_seen(self, event_id: str) -> bool:
        return event_id in await self.mark_events_seen([event_id])

    async def mark_events_seen(self, event_ids: Sequence[str]) -> set[str]:
        unique = list(dict.fromkeys(event_ids))
        now = time.time()
        first: set[str] = set()
        async with self._locked() as db:
            for start in range(0, len(unique), _MARK_CHUNK):
                chunk = unique[start : start + _MARK_CHUNK]
                params: list[Any] = []
                for event_id in chunk:
                    params += (event_id, now + self._seen_ttl)
                # Inserted (first sighting) or refreshed (the old mark expired): RETURNING names it.
                rows = await db.execute_fetchall(_mark_sql(len(chunk)), (*params, now))
                first.update(str(row[0]) for row in rows)
            marks_before = self._marks
            self._marks += len(unique)
            if self._marks // 1024 > marks_before // 1024:
                await db.execute("DELETE FROM seen_events WHERE expires_at <= ?", (now,))
        return first

    async def get_doc(self, namespace: str, key: str) -> dict[str, Any] | None:
        rows = await self._fetch("SELECT doc FROM docs WHERE namespace = ? AND key = ?", (namespace, key))
        return load_doc(rows[0][0]) if rows else None

    async def put_doc(self, namespace: str, key: str, doc: dict[str, Any]) -> None:
        serialized = dump_doc(doc)
        async with self._locked() as db:
            await db.execute(
                "INSERT OR REPLACE INTO docs (namespace, key, doc) VALUES (?, ?, ?)",
                (namespace, key, serialized),
            )

    async def put_doc_if_absent(self, namespace: str, key: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        serialized = dump_doc(doc)
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO docs (namespace, key, doc) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (namespace, key, serialized),
            )
            inserted = cursor.rowcount == 1
            await cursor.close()
            if inserted:
                return None
            async with db.execute(
                "SELECT doc FROM docs WHERE namespace = ? AND key = ?", (namespace, key)
            ) as existing:
                row = await existing.fetchone()
        if row is None:
            raise StateStoreError(f"document {namespace}/{key} vanished inside a transaction")
        return load_doc(row[0])

    async def delete_doc(self, namespace: str, key: str) -> None:
        async with self._locked() as db:
            await db.execute("DELETE FROM docs WHERE namespace = ? AND key = ?", (namespace, key))

    async def list_docs(self, namespace: str) -> list[dict[str, Any]]:
        rows = await self._fetch("SELECT doc FROM docs WHERE namespace = ? ORDER BY key", (namespace,))
        return [load_doc(row[0]) for row in rows]

    async def ping(self) -> None:
        try:
            await self._fetch("SELECT 1")
        except (sqlite3.Error, ValueError) as exc:
            raise StateStoreError(f"SQLite state store does not answer: {exc}") from exc

    async def close(self) -> None:
        async with self._gate.exclusive():
            if self._closed:
                return
            self._closed = True
            await self._db.close()
