"""The SQLite store's schema, its upgrade from earlier files, and the statements on the event path.

Files created now keep seen ids in a WITHOUT ROWID table (one B-tree per id instead of two) and
history rows without AUTOINCREMENT (a new row's seq is still above every kept one's, which is all
the order of a history needs); files of earlier versions keep their tables, the statements work
on both. Every cost that grows with what is kept goes through an index: expired event ids are found by
``seen_expiry``, finished calls by ``calls_ended``, pages of live calls by ``calls_live_start``, a
room's live call by ``calls_room_live`` (whose columns cover its ORDER BY, so that the planner
never prefers walking ``calls_live_start`` instead).
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

from bot.state.base import CallRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_connection_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    live INTEGER NOT NULL,
    started_ts REAL NOT NULL,
    record TEXT NOT NULL,
    ended_ts REAL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    call_connection_id TEXT NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_call ON events (call_connection_id, seq);
CREATE TABLE IF NOT EXISTS seen_events (
    event_id TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    call_connection_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_call ON inbox (call_connection_id, seq);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS docs (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""

# Created after the upgrade: they name a column that files written before it lack.
INDEXES = """
CREATE INDEX IF NOT EXISTS seen_expiry ON seen_events (expires_at);
CREATE INDEX IF NOT EXISTS calls_ended ON calls (ended_ts) WHERE ended_ts IS NOT NULL;
CREATE INDEX IF NOT EXISTS calls_live_start ON calls (live, started_ts, call_connection_id);
DROP INDEX IF EXISTS calls_live_room;
CREATE INDEX IF NOT EXISTS calls_room_live ON calls (room_id, live, started_ts, call_connection_id);
"""

# An upsert, not INSERT OR REPLACE: updating a record in place touches only the indexes whose
# columns changed (most updates change the JSON only), where a replace rewrites them all.
PUT_CALL = (
    "INSERT INTO calls (call_connection_id, room_id, live, started_ts, record, ended_ts)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (call_connection_id) DO UPDATE SET"
    " room_id = excluded.room_id, live = excluded.live, started_ts = excluded.started_ts,"
    " record = excluded.record, ended_ts = excluded.ended_ts"
)
APPEND = "INSERT INTO events (call_connection_id, entry) VALUES (?, ?)"
# Lazy: run every few appends of a call, so the subquery is not paid on each insert.
TRIM = (
    "DELETE FROM events WHERE call_connection_id = ?1 AND seq <= (SELECT seq FROM events"
    " WHERE call_connection_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)"
)
# Housekeeping, a few rows at a time through the indexes (never a scan of the table).
EXPIRE_SEEN = (
    "DELETE FROM seen_events WHERE event_id IN"
    " (SELECT event_id FROM seen_events WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)"
)
ENDED_BEFORE = (
    "SELECT call_connection_id FROM calls WHERE ended_ts IS NOT NULL AND ended_ts <= ?"
    " ORDER BY ended_ts LIMIT ?"
)
DELETE_CALL = "DELETE FROM calls WHERE call_connection_id = ?"
# At most this many history rows of a forgotten call per step: a long call's go over several.
DELETE_HISTORY = (
    "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE call_connection_id = ? LIMIT ?)"
)
HAS_HISTORY = "SELECT 1 FROM events WHERE call_connection_id = ? LIMIT 1"


@functools.cache
def mark_sql(count: int) -> str:
    rows = ", ".join(["(?, ?)"] * count)
    # Only placeholders are formatted in; every value is bound. Inserted (first sighting) or
    # refreshed (the old mark expired): RETURNING names exactly the ids seen for the first time.
    return (
        f"INSERT INTO seen_events (event_id, expires_at) VALUES {rows}"  # noqa: S608
        " ON CONFLICT (event_id) DO UPDATE SET expires_at = excluded.expires_at"
        " WHERE seen_events.expires_at <= ? RETURNING event_id"
    )


def page_sql(*, live_only: bool, after: bool, room_prefix: bool, count: bool) -> str:
    """A page of calls (or their count) in start order; placeholders in the order: the cursor's
    (started_ts, id), the room prefix's (length, prefix), the limit."""
    where = ["live = 1"] if live_only else []
    if after:
        where.append("(started_ts, call_connection_id) > (?, ?)")
    if room_prefix:
        where.append("substr(room_id, 1, ?) = ?")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    if count:
        return f"SELECT count(*) FROM calls{clause}"  # noqa: S608
    return f"SELECT record FROM calls{clause} ORDER BY started_ts, call_connection_id LIMIT ?"  # noqa: S608


def upgrade(connection: sqlite3.Connection) -> None:
    """Create the schema, or bring a file of an earlier version up to it."""
    connection.executescript(SCHEMA)
    columns = {row[1] for row in connection.execute("PRAGMA table_info(calls)")}
    if "ended_ts" not in columns:
        connection.execute("ALTER TABLE calls ADD COLUMN ended_ts REAL")
        # The end time of calls stored before is inside their JSON only: retention counts from
        # their start instead (such a call goes at most its own length early).
        connection.execute("UPDATE calls SET ended_ts = started_ts WHERE live = 0")
    connection.executescript(INDEXES)


def call_params(record: CallRecord) -> tuple[Any, ...]:
    return (
        record.call_connection_id,
        record.room_id,
        int(record.is_live),
        record.started_at.timestamp(),
        record.to_json(),
        # Retention counts from the end (from the start for a call that never said when it ended).
        None if record.is_live else (record.ended_at or record.started_at).timestamp(),
    )


def page_params(after: tuple[float, str] | None, room_prefix: str | None) -> tuple[Any, ...]:
    params: tuple[Any, ...] = after if after is not None else ()
    if room_prefix:
        params += (len(room_prefix), room_prefix)
    return params
