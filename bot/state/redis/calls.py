"""Call records and histories in Redis, written behind: the part of the Redis store on the event path.

Keys (under the store's prefix):
  call:{id}          the call record as JSON; a finished call's expires after the retention
  calls              sorted set of every call id, scored by start time
  calls:live         sorted set of the live call ids (the live-call index)
  calls:ended        sorted set of the finished call ids, scored by end time (for retention)
  room:{id}:live     sorted set of the room's live call ids
  events:{id}        the call's history, a list trimmed back to the cap every few appends

History entries and the records they come with are not written one MULTI per event: they gather
in this process and go as one Lua script call for everything gathered (`flush`, atomic as a
script is), started as soon as the event loop is free. Every other call operation of this
process first waits for that write (`settle`), so it sees what was written before it, and the
inbox completion of an event never goes before the event's entry. Only the leading replica
writes calls and histories. A write that fails for want of a connection stays gathered and
`settle` raises (the caller's operation fails as the store's would); it is tried again only while
this replica leads (`guard`). One the server refuses is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot.state.base import HOUSEKEEPING_BATCH, CallRecord, check_limit, dump_doc, load_doc
from bot.state.grouped import gather, no_callbacks_open
from bot.state.redis import lua

logger = logging.getLogger(f"roombot.{__name__}")

# A call's history is trimmed back to the cap after this many appends (lazily, as in SQLite).
TRIM_EVERY = 64
# Calls whose append count is tracked at once; past it the counts start again.
_TRACKED_CALLS = 10_000
# Ids of a room-filtered page looked at per round trip.
_SCAN_CHUNK = 500


class RedisCalls:
    def __init__(
        self, client: aioredis.Redis, prefix: str, *, max_events: int, retention_seconds: float
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._max_events = max_events
        self._retention_ms = max(1, round(retention_seconds * 1000))
        self._retention = retention_seconds
        self._records: dict[str, CallRecord] = {}
        self._entries: dict[str, list[str]] = {}
        self._appends: dict[str, int] = {}
        self._writer: asyncio.Task[None] | None = None
        # Callback POSTs open now, and writes gathered so far: what the writer waits by (`gather`).
        self.open_callbacks: Callable[[], int] = no_callbacks_open
        self._arrivals = 0
        self._write = client.register_script(lua.WRITE_CALLS)
        self._failed = False
        # True while this process leads (set by the app, as the ACS facade's guard is).
        self.guard: Callable[[], bool] = lambda: True

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    # --- writes -------------------------------------------------------------------------------

    def defer(self, record: CallRecord | None, call_connection_id: str, entry: dict[str, Any] | None) -> None:
        """Gather a record and/or a history entry for the next write."""
        serialized = dump_doc(entry) if entry is not None else None
        if record is not None:
            self._records[call_connection_id] = record.copy()
        if serialized is not None:
            self._entries.setdefault(call_connection_id, []).append(serialized)
        self._arrivals += 1
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_soon(), name="redis-calls-write")

    async def _write_soon(self) -> None:
        # Under a load, while the loop's turns bring more: the events of other POSTs join this
        # write (anything that must see them writes them at once, see `settle`).
        await gather(lambda: self._arrivals, self.open_callbacks)
        try:
            await self.flush()
        except Exception as exc:
            # Still gathered: the next operation that settles tries again, and fails if it must.
            logger.warning("cannot write call histories yet: %s", exc)

    async def flush(self) -> None:
        """Write what is gathered, in one script call; on failure it stays gathered and raises.

        What a failed write left is tried again only while `guard` says this replica still
        leads: a deposed leader's records must not overwrite its successor's (the events they
        came from are still in the inbox, and the successor processes them again)."""
        if self._failed and not self.guard():
            logger.warning("dropping call writes of a term that ended: %d calls", len(self._entries))
            self._records.clear()
            self._entries.clear()
            self._failed = False
        while self._records or self._entries:
            records, self._records = self._records, {}
            entries, self._entries = self._entries, {}
            try:
                await self._write(keys=[self._prefix], args=self._args(records, entries))
                self._failed = False
            except ResponseError:
                # Refused by the server (a key of the wrong type): trying again cannot help, and
                # must not block every later write. These are lost; the error says so.
                logger.error("Redis refused call writes for %d calls; they are dropped", len(entries))
                raise
            except BaseException:
                # Connection trouble: kept, in front of what was gathered meanwhile (newer).
                self._failed = True
                self._records = {**records, **self._records}
                for cid, newer in self._entries.items():
                    entries[cid] = entries.get(cid, []) + newer
                self._entries = entries
                raise

    async def settle(self) -> None:
        """Return once everything gathered before is written (raise if it cannot be)."""
        writer = self._writer
        if writer is not None and not writer.done():
            # It logs its own failure; the flush below tries again and raises.
            await asyncio.wait([writer])
        await self.flush()

    def _args(self, records: dict[str, CallRecord], entries: dict[str, list[str]]) -> list[str | int | float]:
        args: list[str | int | float] = [self._retention_ms, self._max_events, len(records)]
        for cid, record in records.items():
            ended = (record.ended_at or record.started_at).timestamp()
            args += (
                cid,
                record.to_json(),
                record.started_at.timestamp(),
                int(record.is_live),
                record.room_id,
                ended,
            )
        for cid, serialized in entries.items():
            count = self._appends.get(cid, 0) + len(serialized)
            trim = count >= TRIM_EVERY or len(self._appends) >= _TRACKED_CALLS
            if trim:
                self._appends.pop(cid, None)
            else:
                self._appends[cid] = count
            written = records.get(cid)
            over = written is not None and not written.is_live
            args += (cid, int(trim), int(over), len(serialized), *serialized)
        return args

    async def put(self, record: CallRecord) -> None:
        await self.settle()
        await self._write(keys=[self._prefix], args=self._args({record.call_connection_id: record}, {}))

    # --- reads --------------------------------------------------------------------------------

    async def get(self, call_connection_id: str) -> CallRecord | None:
        await self.settle()
        stored = await self._redis.get(self._key("call", call_connection_id))
        return CallRecord.from_json(stored) if stored is not None else None

    async def _load(self, ids: list[str]) -> list[CallRecord]:
        if not ids:
            return []
        stored = await self._redis.mget([self._key("call", cid) for cid in ids])
        return [CallRecord.from_json(text) for text in stored if text is not None]

    def _index(self, live_only: bool) -> str:
        return self._key("calls", "live") if live_only else self._key("calls")

    async def listing(self, live_only: bool) -> list[CallRecord]:
        await self.settle()
        ids = [str(i) for i in await self._redis.zrange(self._index(live_only), 0, -1)]
        # A record written by put_call is authoritative over an index entry a crash left behind.
        return [r for r in await self._load(ids) if r.is_live or not live_only]

    async def page(
        self, *, limit: int, after: tuple[float, str] | None, room_prefix: str | None, live_only: bool
    ) -> list[CallRecord]:
        """Index order is (score, member): exactly (started_at, id), so a cursor is a position."""
        await self.settle()
        page: list[CallRecord] = []
        low = "-inf" if after is None else repr(after[0])
        offset = 0
        chunk = _SCAN_CHUNK if room_prefix else limit + 1
        while len(page) < limit:
            replies = await self._redis.zrangebyscore(
                self._index(live_only), low, "+inf", start=offset, num=chunk, withscores=True
            )
            offset += len(replies)
            scored = [(float(pair[1]), str(pair[0])) for pair in replies]
            ids = [member for score, member in scored if after is None or (score, member) > after]
            for record in await self._load(ids):
                if (record.is_live or not live_only) and (
                    not room_prefix or record.room_id.startswith(room_prefix)
                ):
                    page.append(record)
            if len(replies) < chunk:
                break
        return page[:limit]

    async def count(self, *, room_prefix: str | None, live_only: bool) -> int:
        await self.settle()
        if not room_prefix:
            return int(await self._redis.zcard(self._index(live_only)))
        # No index by room prefix: the matching records are read (room-filtered lists only).
        matched = 0
        after: tuple[float, str] | None = None
        while True:
            page = await self.page(limit=_SCAN_CHUNK, after=after, room_prefix=None, live_only=live_only)
            matched += sum(1 for record in page if record.room_id.startswith(room_prefix))
            if len(page) < _SCAN_CHUNK:
                return matched
            after = (page[-1].started_at.timestamp(), page[-1].call_connection_id)

    async def live_in_room(self, room_id: str) -> CallRecord | None:
        await self.settle()
        ids = [str(i) for i in await self._redis.zrange(self._key("room", room_id, "live"), 0, -1, desc=True)]
        for record in await self._load(ids):
            if record.is_live and record.room_id == room_id:
                return record
        return None

    async def events(self, call_connection_id: str, limit: int | None) -> list[dict[str, Any]]:
        await self.settle()
        limit = check_limit(limit)
        newest = self._max_events if limit is None else min(limit, self._max_events)
        if newest == 0:
            return []
        entries = await self._redis.lrange(self._key("events", call_connection_id), -newest, -1)
        return [load_doc(entry) for entry in entries]

    async def housekeep(self, now: float) -> int:
        """Take calls that ended longer than the retention ago out of the indexes (their keys
        expire by themselves; they are deleted too, for records written before they did)."""
        await self.settle()
        ended = self._key("calls", "ended")
        ids = [
            str(i)
            for i in await self._redis.zrangebyscore(
                ended, "-inf", repr(now - self._retention), 0, HOUSEKEEPING_BATCH
            )
        ]
        if not ids:
            return 0
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(ended, *ids)
            pipe.zrem(self._key("calls"), *ids)
            pipe.delete(*(self._key(kind, cid) for cid in ids for kind in ("call", "events")))
            await pipe.execute()
        return len(ids)
