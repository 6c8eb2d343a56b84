"""WAL checkpoints of the SQLite store (`bot.state.sqlite`), on a connection and a thread of their own.

In WAL mode a commit appends pages to the ``-wal`` file; a *checkpoint* copies them back into the
database file and, with ``synchronous=NORMAL``, waits for both files to reach the disk (fsync).
By default the commit that takes the WAL past 1,000 pages runs the checkpoint itself
(``wal_autocheckpoint``): that commit, and every operation queued behind it on the store's one
connection, waits for the copy and the fsyncs. Measured on the DTMF benchmark (`bench/latency.py`),
that was most of the tail: p99 event-to-action at 100 waiting menus 15.4 ms, 5.0 ms with this
checkpointer.

So the store's connection never checkpoints (``wal_autocheckpoint = 0``), and this checkpointer
runs a PASSIVE checkpoint every `INTERVAL_SECONDS` from a second connection. PASSIVE copies what
no reader still needs and never blocks the writer, which goes on appending meanwhile; once a
checkpoint has copied everything, the next write starts the WAL from its beginning again, so the
file stays as large as about one interval of writes (SQLite's "Write-Ahead Logging" and
"PRAGMA wal_checkpoint" documentation). What a crash leaves in the WAL is replayed by SQLite on
the next open, checkpointed or not.

Under writes that never pause, though, no PASSIVE checkpoint reaches the end of the WAL before
the next commit appends to it, so the WAL is never started over: filling a store with 5 million
event ids grew it to 2 GB against a 100 MB database. A RESTART checkpoint from this connection
does not help: its busy handler polls, and a writer that commits back to back takes the lock
first every time. So once a PASSIVE checkpoint leaves the WAL longer than
`WAL_SIZE_LIMIT_BYTES`, the store's own connection checkpoints once, between two of its
operations (``catch_up``): it only has to copy what was written since the PASSIVE one, and its
next commit starts the WAL from its beginning.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from bot.stopping import cancel_and_wait

logger = logging.getLogger(f"roombot.{__name__}")

INTERVAL_SECONDS = 1.0
# The WAL file is cut back to this size after a checkpoint that emptied it (a burst may grow it);
# beyond it, the store's own connection checkpoints once so that the WAL can start over.
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def configure_writer(connection: sqlite3.Connection) -> None:
    """The store's own connection: appends to the WAL, leaves checkpoints to the checkpointer."""
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    connection.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")


class Checkpointer:
    def __init__(
        self,
        path: str,
        busy_timeout_ms: int,
        catch_up: Callable[[], Awaitable[None]],
        *,
        wal_limit_bytes: int = WAL_SIZE_LIMIT_BYTES,
    ) -> None:
        """``catch_up``: a checkpoint on the writer's own connection, run between its operations."""
        self._path = path
        self._catch_up = catch_up
        self._busy_timeout_ms = busy_timeout_ms
        self._wal_limit_bytes = wal_limit_bytes
        self._catch_up_frames = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roombot-sqlite-checkpoint")
        self._connection: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        # One checkpoint at a time: two PASSIVE ones at once, or one beside the writer's catch-up,
        # and all but the first answer busy having copied nothing.
        self._running = asyncio.Lock()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._connection = await loop.run_in_executor(self._executor, self._open)
        self._task = asyncio.create_task(self._run(), name="sqlite-checkpoints")

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=True)
        connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        page_size = int(connection.execute("PRAGMA page_size").fetchone()[0])
        # A WAL frame is one page and a 24-byte header.
        self._catch_up_frames = self._wal_limit_bytes // (page_size + 24)
        return connection

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            await self.checkpoint()

    async def checkpoint(self) -> None:
        """One PASSIVE checkpoint now, and one by the writer if the WAL stays too long; a failure
        is logged (the next one tries again)."""
        async with self._running:
            connection = self._connection
            if connection is None:
                return
            try:
                loop = asyncio.get_running_loop()
                frames = await loop.run_in_executor(self._executor, passive_checkpoint, connection)
                if frames > self._catch_up_frames:
                    await self._catch_up()
            except sqlite3.Error as exc:
                logger.warning("SQLite checkpoint failed: %s", exc)

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
        connection, self._connection = self._connection, None
        if connection is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, connection.close)
        self._executor.shutdown(wait=False)


def passive_checkpoint(connection: sqlite3.Connection) -> int:
    """A PASSIVE checkpoint; the frames the WAL holds. Run by the writer between its own commits,
    it copies everything."""
    _, wal_frames, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(wal_frames)
