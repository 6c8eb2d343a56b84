"""The SQLite worker's batches: operations queued together commit together, one that fails takes
only its own writes with it, and a write lock held by another process is waited for without
stalling the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.state import grouped, sqlite_worker
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


HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
"""


async def lock_holder(path: Path) -> asyncio.subprocess.Process:
    """Another process holding the file's write lock until a line comes on its stdin."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, str(path), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert await holder.stdout.readline() == b"held\n"
    return holder


async def release(holder: asyncio.subprocess.Process) -> None:
    assert holder.stdin is not None
    holder.stdin.write(b"go\n")
    await holder.stdin.drain()
    assert await holder.wait() == 0


async def test_a_write_lock_held_elsewhere_is_waited_for_with_the_event_loop_free(tmp_path: Path) -> None:
    worker = SqliteWorker(str(tmp_path / "w.db"))
    await worker.start(setup)
    holder = await lock_holder(tmp_path / "w.db")

    write = asyncio.create_task(worker.run(lambda db: db.execute("INSERT INTO t VALUES ('a', 1)")))
    # The loop runs this test meanwhile: the wait for the lock is not inside SQLite's handler.
    for _ in range(5):
        await asyncio.sleep(0.02)
        assert not write.done()
    await release(holder)
    await write

    rows = await worker.run(lambda db: db.execute("SELECT k FROM t").fetchall())
    assert [row[0] for row in rows] == ["a"]
    await worker.close()


async def test_a_lock_held_past_the_busy_timeout_fails_the_batch_and_the_next_one_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_worker, "BUSY_TIMEOUT_MS", 100)
    worker = SqliteWorker(str(tmp_path / "w.db"))
    await worker.start(setup)
    holder = await lock_holder(tmp_path / "w.db")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await worker.run(lambda db: db.execute("INSERT INTO t VALUES ('a', 1)"))
    await release(holder)
    await worker.run(lambda db: db.execute("INSERT INTO t VALUES ('b', 1)"))

    rows = await worker.run(lambda db: db.execute("SELECT k FROM t").fetchall())
    assert [row[0] for row in rows] == ["b"]
    await worker.close()


async def test_under_a_load_operations_that_keep_coming_share_one_commit(tmp_path: Path) -> None:
    worker = SqliteWorker(str(tmp_path / "w.db"))
    await worker.start(setup)
    open_callbacks = 16
    worker.open_callbacks = lambda: open_callbacks
    before = worker.batches

    async def insert_after(turns: int, key: str) -> None:
        for _ in range(turns):
            await asyncio.sleep(0)
        await worker.run(lambda db: db.execute("INSERT INTO t VALUES (?, 1)", (key,)))

    # Arriving one per loop turn, as callback POSTs do under load: gathered, not one commit each.
    await asyncio.gather(*(insert_after(turn, f"k{turn}") for turn in range(4)))
    gathered = worker.batches - before
    # A lone callback: its operation waits one turn only.
    open_callbacks = 1
    lone_turns = 0

    async def count_turns() -> None:
        nonlocal lone_turns
        while True:
            await asyncio.sleep(0)
            lone_turns += 1

    counter = asyncio.create_task(count_turns())
    await worker.run(lambda db: db.execute("INSERT INTO t VALUES ('lone', 1)"))
    counter.cancel()

    assert gathered == 1
    assert lone_turns <= 2 < grouped.MAX_GATHER_PASSES
    await worker.close()
