"""The SQLite worker's batches: operations queued together commit together, and one that fails
takes only its own writes with it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.state.sqlite_worker import SqliteWorker


def setup(connection: sqlite3.Connection) -> None:
    connection.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER)")


async def test_a_failing_operation_leaves_the_rest_of_its_batch_committed(tmp_path: Path) -> None:
    worker = SqliteWorker(str(tmp_path / "w.db"))
    await worker.start(setup)

    def insert(key: str) -> Callable[[sqlite3.Connection], object]:
        return lambda db: db.execute("INSERT INTO t VALUES (?, 1)", (key,))

    def half_then_fail(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO t VALUES ('half', 1)")
        db.execute("INSERT INTO t VALUES ('a', 1)")  # already there: fails

    worker.defer(("INSERT INTO t VALUES (?, 2)", ("deferred",)))
    results = await asyncio.gather(
        worker.run(insert("a")),
        worker.run(half_then_fail, atomic=True),
        worker.run(insert("b")),
        return_exceptions=True,
    )

    assert isinstance(results[1], sqlite3.IntegrityError)
    rows = await worker.run(lambda db: db.execute("SELECT k FROM t ORDER BY k").fetchall())
    assert [row[0] for row in rows] == ["a", "b", "deferred"]
    assert worker.deferred_error is None
    await worker.close()


async def test_a_failing_deferred_write_is_remembered(tmp_path: Path) -> None:
    worker = SqliteWorker(str(tmp_path / "w.db"))
    await worker.start(setup)
    await worker.run(lambda db: db.execute("INSERT INTO t VALUES ('a', 1)"))

    worker.defer(("INSERT INTO t VALUES (?, 2)", ("a",)))
    await worker.run(lambda db: None)

    assert isinstance(worker.deferred_error, sqlite3.IntegrityError)
    await worker.close()
    with pytest.raises(sqlite3.ProgrammingError):
        worker.defer(("SELECT 1", ()))
