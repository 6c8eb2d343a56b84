"""WAL checkpoints happen on the checkpointer's connection, never in a commit of the store's own."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from bot.state.sqlite_worker import SqliteWorker

ROWS_PER_BATCH = 50
BATCHES = 120
# About 1 KiB a row: 120 batches write some 6 MB of pages to the WAL, past the 1,000 pages (4 MB)
# at which a commit would checkpoint by default.
PAYLOAD = "x" * 1000


def setup(connection: sqlite3.Connection) -> None:
    connection.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)")


def rows_in_database_file(path: Path) -> int:
    """What the database file itself holds, ignoring its WAL (``immutable`` reads the file as is)."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        tables = connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'").fetchone()[0]
        return int(connection.execute("SELECT count(*) FROM t").fetchone()[0]) if tables else 0
    finally:
        connection.close()


def wal_bytes(path: Path) -> int:
    return os.stat(f"{path}-wal").st_size


async def write_batch(worker: SqliteWorker, start: int) -> None:
    rows = [(start + i, PAYLOAD) for i in range(ROWS_PER_BATCH)]
    await worker.run(lambda db: db.executemany("INSERT INTO t VALUES (?, ?)", rows))


async def test_commits_leave_the_wal_to_the_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    worker = SqliteWorker(str(path))
    await worker.start(setup)
    try:
        for batch in range(BATCHES):
            await write_batch(worker, batch * ROWS_PER_BATCH)
        written = BATCHES * ROWS_PER_BATCH
        # The store's commits checkpointed nothing: the file holds none of it yet.
        assert wal_bytes(path) > 1000 * 1024
        assert rows_in_database_file(path) == 0
        checkpointer = worker.checkpointer
        assert checkpointer is not None

        await checkpointer.checkpoint()

        assert rows_in_database_file(path) == written
    finally:
        await worker.close()


async def test_checkpoints_keep_the_wal_as_small_as_the_writes_between_them(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    worker = SqliteWorker(str(path))
    await worker.start(setup)
    try:
        checkpointer = worker.checkpointer
        assert checkpointer is not None
        for batch in range(BATCHES):
            await write_batch(worker, batch * ROWS_PER_BATCH)
            await checkpointer.checkpoint()
        # Each write after a complete checkpoint starts the WAL over: it holds about one batch.
        assert wal_bytes(path) < 300 * 1024
        assert rows_in_database_file(path) == BATCHES * ROWS_PER_BATCH
        rows = await worker.run(lambda db: db.execute("SELECT count(*) FROM t").fetchone()[0])
        assert rows == BATCHES * ROWS_PER_BATCH
    finally:
        await worker.close()


async def test_an_in_memory_database_has_no_checkpointer() -> None:
    worker = SqliteWorker(":memory:")
    await worker.start(setup)
    try:
        assert worker.checkpointer is None
        await write_batch(worker, 0)
        rows = await worker.run(lambda db: db.execute("SELECT count(*) FROM t").fetchone()[0])
        assert rows == ROWS_PER_BATCH
    finally:
        await worker.close()


async def test_writes_that_never_pause_still_let_the_wal_start_over(tmp_path: Path) -> None:
    # The writer always has a commit coming: no PASSIVE checkpoint reaches the end of the WAL
    # before the next commit, so without the writer's own catch-up the WAL would never start over.
    path = tmp_path / "w.db"
    limit = 256 * 1024
    worker = SqliteWorker(str(path), wal_limit_bytes=limit)
    await worker.start(setup)
    checkpointer = worker.checkpointer
    assert checkpointer is not None
    writing = True

    async def keep_checkpointing() -> None:
        while writing:
            await checkpointer.checkpoint()
            await asyncio.sleep(0)

    try:
        checkpoints = asyncio.create_task(keep_checkpointing())
        for batch in range(BATCHES * 4):
            await write_batch(worker, batch * ROWS_PER_BATCH)
        writing = False
        await checkpoints
        # Some 24 MB went through the WAL. Had it never started over it would hold them all; it
        # holds what was written between a catch-up and the next (how much depends on how fast
        # this disk syncs a checkpoint: a bound on that would measure the disk, not the store).
        assert wal_bytes(path) < BATCHES * 4 * ROWS_PER_BATCH * len(PAYLOAD) // 3, wal_bytes(path)
        rows = await worker.run(lambda db: db.execute("SELECT count(*) FROM t").fetchone()[0])
        assert rows == BATCHES * 4 * ROWS_PER_BATCH
    finally:
        await worker.close()
