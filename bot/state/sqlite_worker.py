"""One SQLite connection, used on the event loop's thread, with group commit.

Every operation of the store is a function of the connection. Coroutines queue operations; one
flusher runs everything queued so far as one transaction (each operation inside its own savepoint
only when one of them fails, so that a failing one takes only its own writes with it) and commits
once. An operation's awaiter resumes after that commit: what it wrote is durable, and a later
operation (a read included) sees it, because batches run in queue order on one connection.

Writes nobody needs to wait for (a call's history entry, its record) are *deferred*: `defer`
queues a statement and returns at once. Deferred statements keep their place in the queue, so
whatever is queued after one (a read, the inbox completion of the event it came from) runs after
it, in the same transaction or a later one; a run of them is one `executemany` per statement. If
one fails, `deferred_error` holds the failure: the store refuses what must not outlive a lost
write (taking events out of the inbox), so those events are processed again after a restart.

Why on the loop's thread: a batch (its statements and its commit, a few hundred microseconds) is
cheaper run where the operations come from than handed to a thread and back. The hop cost two
thread wake-ups and a wake-up of the event loop per batch, and on two cores the thread ran beside
the event loop and the load instead of after them. Measured on this 2-core machine against the
connection on a thread of its own: server CPU per callback event 169-196 µs against 223-246
(the callback load of `bench/callbacks.py`, the two alternating four times), and the p99 from
RecognizeCompleted to the next request at 1,000 waiting menus 2.2x a bare reactor against 4.0x
(one `python -m bench --only latency` run each; 2.7x in a full run after).

What could stall the loop is kept off it: WAL checkpoints run on a connection and a thread of
their own (`bot.state.checkpoints`; the writer's rare catch-up checkpoint runs on a thread too,
while no batch runs), and a write lock held by another process (a tool on the same file) is
waited for between short tries, not inside SQLite's busy handler.

A batch stays short: at most `MAX_BATCH` operations, each an indexed statement or a few. In WAL
mode with ``synchronous=NORMAL`` a committed transaction survives the process being killed; only
a power loss can take the last ones back, never consistency (SQLite's "WAL mode" documentation).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.state.checkpoints import WAL_SIZE_LIMIT_BYTES, Checkpointer, configure_writer, passive_checkpoint
from bot.state.grouped import gather, no_callbacks_open

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], Any]
# A statement and its parameters.
Statement = tuple[str, tuple[Any, ...]]

# Wait this long for another process's write lock before failing with "database is locked".
BUSY_TIMEOUT_MS = 5000
# SQLite's own busy handler blocks the thread it runs on: on the event loop's, it waits this long
# only; longer waits go between tries, every `BUSY_RETRY_SECONDS`, with the loop free meanwhile.
BLOCKING_BUSY_MS = 5
BUSY_RETRY_SECONDS = 0.01
# Operations per transaction at most; more wait for the next batch, so one batch stays short.
MAX_BATCH = 512
CACHE_KIB = 16 * 1024
# Under a load of callbacks a flush lets the loop turn while operations keep coming
# (`bot.state.grouped.gather`): the commit (its BEGIN, COMMIT and the pages it writes to the WAL)
# is paid once for all of them.
MEMORY = ":memory:"


@dataclass(slots=True)
class _Queued:
    operation: Operation
    future: asyncio.Future[Any]
    # Several statements that must stand or fall together get a savepoint; one statement is
    # atomic on its own in SQLite and needs none.
    atomic: bool


@dataclass(slots=True)
class _Deferred:
    """Statements nobody awaits: (sql, parameters) pairs, run in order."""

    statements: list[Statement]


class SqliteWorker:
    def __init__(self, path: str, *, wal_limit_bytes: int = WAL_SIZE_LIMIT_BYTES) -> None:
        self._path = path
        self._wal_limit_bytes = wal_limit_bytes
        # Only for the writer's catch-up checkpoint (see `_catch_up`).
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roombot-sqlite")
        self._connection: sqlite3.Connection | None = None
        # Held while a batch runs, and while the catch-up checkpoint uses the connection.
        self._using = asyncio.Lock()
        self._queue: list[_Queued | _Deferred] = []
        # Callback POSTs open now, and operations queued so far: what a flush waits by (`gather`).
        self.open_callbacks: Callable[[], int] = no_callbacks_open
        self._arrivals = 0
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0
        self.operations = 0
        # The first failure of a deferred statement (read on the connection's thread).
        self.deferred_error: sqlite3.Error | None = None
        # WAL checkpoints, off this connection (none for an in-memory database).
        self.checkpointer: Checkpointer | None = None

    async def start(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        """Open the connection and run ``setup`` (schema, pragmas); then start the checkpoints.
        At start-up, before any operation: it may wait for another process's lock (up to
        `BUSY_TIMEOUT_MS`) and upgrade an old file, with nothing else to do meanwhile."""
        self._open(setup)
        if self._path != MEMORY:
            checkpointer = Checkpointer(
                self._path, BUSY_TIMEOUT_MS, self._catch_up, wal_limit_bytes=self._wal_limit_bytes
            )
            try:
                await checkpointer.start()
            except BaseException:
                await checkpointer.close()
                await self.close()
                raise
            self.checkpointer = checkpointer

    async def _catch_up(self) -> None:
        """A checkpoint on this connection between two batches (not in one), on a thread: it
        copies pages and fsyncs the database file, which must not stall the event loop."""
        async with self._using:
            connection = self._connection
            if connection is not None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._executor, passive_checkpoint, connection)

    def _open(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        # Autocommit mode: transactions are this module's own BEGIN ... COMMIT. Used from the
        # loop's thread, and from the catch-up thread while no batch runs: never at once.
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            if self._path != MEMORY:
                configure_writer(connection)
            # 16 MiB of page cache (the default is 2 MiB): the interior pages of indexes over
            # millions of remembered event ids stay in memory.
            connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            setup(connection)
            connection.execute(f"PRAGMA busy_timeout = {BLOCKING_BUSY_MS}")
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    async def run(self, operation: Callable[[sqlite3.Connection], T], *, atomic: bool = False) -> T:
        """Queue ``operation``; return its result once the transaction it ran in has committed.

        ``atomic``: the operation runs several writing statements that must not half-apply when
        one of them fails (a single statement, or reads, need not say so)."""
        if self._connection is None:
            raise sqlite3.ProgrammingError("the SQLite connection is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(operation, future, atomic))
        self._arrivals += 1
        self._wake()
        return await future

    def defer(self, *statements: Statement) -> None:
        """Queue statements that run in their turn, atomically together, without a waiter."""
        if self._connection is None:
            raise sqlite3.ProgrammingError("the SQLite connection is closed")
        last = self._queue[-1] if self._queue else None
        if isinstance(last, _Deferred):
            last.statements.extend(statements)
        else:
            self._queue.append(_Deferred(list(statements)))
        self._arrivals += 1
        self._wake()

    def _wake(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="sqlite-flush")

    async def _flush(self) -> None:
        while self._queue:
            await gather(
                lambda: self._arrivals, self.open_callbacks, full=lambda: len(self._queue) >= MAX_BATCH
            )
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                async with self._using:
                    outcomes = await self._run_when_free(batch)
            except BaseException as exc:
                # The commit itself failed (disk full, lock timeout): nothing of the batch holds.
                for queued in batch:
                    if isinstance(queued, _Deferred):
                        if self.deferred_error is None and isinstance(exc, sqlite3.Error):
                            self.deferred_error = exc
                    elif not queued.future.done():
                        queued.future.set_exception(_copy(exc))
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for queued, (ok, value) in zip(batch, outcomes, strict=True):
                if isinstance(queued, _Deferred) or queued.future.done():
                    continue
                if ok:
                    queued.future.set_result(value)
                else:
                    queued.future.set_exception(value)

    async def _run_when_free(self, batch: list[_Queued | _Deferred]) -> list[tuple[bool, Any]]:
        """Run the batch; while another process holds the write lock, try again every
        `BUSY_RETRY_SECONDS` until `BUSY_TIMEOUT_MS` have passed, the loop free in between."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                return self._run_batch(batch)
            except _Busy as busy:
                if loop.time() >= deadline:
                    raise busy.error from None
            await asyncio.sleep(BUSY_RETRY_SECONDS)

    def _run_batch(self, batch: list[_Queued | _Deferred]) -> list[tuple[bool, Any]]:
        connection = self._connection
        if connection is None:
            raise sqlite3.ProgrammingError("the SQLite connection is closed")
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                # Nothing of the batch has run: it can be tried again as it is.
                raise _Busy(exc) from None
            raise
        self.batches += 1
        self.operations += len(batch)
        try:
            try:
                # Optimistic: no savepoints, as nearly every batch succeeds whole.
                outcomes = [self._run_plain(connection, queued) for queued in batch]
            except Exception:
                # Something failed: undo the batch and run it again, each operation in its own
                # savepoint, so that only the failing one fails (operations are functions of the
                # connection: running one again does the same).
                connection.execute("ROLLBACK")
                connection.execute("BEGIN IMMEDIATE")
                outcomes = [self._run_isolated(connection, queued) for queued in batch]
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return outcomes

    def _run_plain(self, connection: sqlite3.Connection, queued: _Queued | _Deferred) -> tuple[bool, Any]:
        if isinstance(queued, _Deferred):
            _execute_grouped(connection, queued.statements)
            return True, None
        return True, queued.operation(connection)

    def _run_isolated(self, connection: sqlite3.Connection, queued: _Queued | _Deferred) -> tuple[bool, Any]:
        if isinstance(queued, _Deferred):
            connection.execute("SAVEPOINT deferred")
            try:
                _execute_grouped(connection, queued.statements)
            except sqlite3.Error as exc:
                connection.execute("ROLLBACK TO deferred")
                if self.deferred_error is None:
                    self.deferred_error = exc
            connection.execute("RELEASE deferred")
            return True, None
        if queued.atomic:
            connection.execute("SAVEPOINT operation")
        try:
            outcome: tuple[bool, Any] = (True, queued.operation(connection))
        except Exception as exc:
            if queued.atomic:
                connection.execute("ROLLBACK TO operation")
            outcome = (False, exc)
        if queued.atomic:
            connection.execute("RELEASE operation")
        return outcome

    async def close(self) -> None:
        """Finish what is queued, then close the connection and stop the thread."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        if self.checkpointer is not None:
            await self.checkpointer.close()
            self.checkpointer = None
        async with self._using:
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.close()
        self._executor.shutdown(wait=False)


class _Busy(Exception):
    """BEGIN found the write lock taken by another process (SQLITE_BUSY)."""

    def __init__(self, error: sqlite3.OperationalError) -> None:
        super().__init__(str(error))
        self.error = error


def _copy(exc: BaseException) -> BaseException:
    """One exception per waiting future: raising the same instance in several tasks tangles their
    tracebacks."""
    if isinstance(exc, sqlite3.Error):
        return type(exc)(*exc.args)
    return sqlite3.OperationalError(str(exc) or type(exc).__name__)


def _execute_grouped(connection: sqlite3.Connection, statements: list[Statement]) -> None:
    """One executemany per statement text, in the order the texts first came: each table's rows
    keep their order, and a statement never runs before one queued ahead of it of another text
    that it depends on (an insert comes before the trim after it)."""
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for sql, params in statements:
        grouped.setdefault(sql, []).append(params)
    for sql, rows in grouped.items():
        if len(rows) == 1:
            connection.execute(sql, rows[0])
        else:
            connection.executemany(sql, rows)
