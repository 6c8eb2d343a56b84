"""Redis state store: shared by several bot processes behind one callback URL.

Keys (all under the prefix, `roombot:` by default): those of call records and histories are
described in `bot.state.redis.calls`, which writes them behind; then
  seen:{eventId}     duplicate marker, SET NX with a one-day expiry (Redis forgets it by itself)
  inbox              sorted set of the unprocessed event ids, scored by arrival (inbox:seq)
  inbox:call:{id}    the same, for one call
  inbox:events       hash of event id -> the CloudEvent as JSON
  inbox:calls        hash of event id -> its call connection id
  lease:{name}       a lease's holder, SET NX PX; extended and released by its holder only
  docs:{namespace}   hash of key -> JSON document; HSETNX is the hash form of SET NX
Multi-key writes go through MULTI/EXEC or a Lua script, so another process never sees half of one.
Scripts name keys they build from the prefix, so the store needs one Redis server (or a primary
with replicas), not Redis Cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.state.base import (
    DEFAULT_MAX_EVENTS,
    DEFAULT_RETENTION_SECONDS,
    SEEN_EVENT_TTL_SECONDS,
    CallRecord,
    InboxEvent,
    StateStoreError,
)
from bot.state.doccache import SHARED_NAMESPACES, CachedDocs
from bot.state.grouped import Grouped
from bot.state.redis import lua
from bot.state.redis.calls import RedisCalls
from bot.state.redis.errors import translated

DEFAULT_PREFIX = "roombot:"
DEFAULT_POOL_SIZE = 50
DEFAULT_POOL_TIMEOUT_SECONDS = 5.0


class RedisStateStore:
    # Several bot processes may use one Redis.
    shared = True

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        max_events: int = DEFAULT_MAX_EVENTS,
        seen_ttl_seconds: float = SEEN_EVENT_TTL_SECONDS,
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
    ) -> None:
        """Wrap a client created with `decode_responses=True`; use `RedisStateStore.connect(url)`."""
        self._redis = client
        self._prefix = prefix
        self._seen_ttl = seen_ttl_seconds
        self._calls = RedisCalls(client, prefix, max_events=max_events, retention_seconds=retention_seconds)
        # Cached for the leader (see `bot.state.doccache`); `get_text` and the like are uncached.
        self._docs = CachedDocs(self, shared=SHARED_NAMESPACES)
        self._closed = False
        self._ingest = client.register_script(lua.INGEST)
        self._grouped_ingest = Grouped(self._ingest_many)
        self._complete = client.register_script(lua.COMPLETE)
        self._acquire = client.register_script(lua.ACQUIRE)
        self._release = client.register_script(lua.RELEASE)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        max_events: int = DEFAULT_MAX_EVENTS,
        seen_ttl_seconds: float = SEEN_EVENT_TTL_SECONDS,
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
        pool_size: int | None = None,
        pool_timeout: float | None = None,
    ) -> RedisStateStore:
        """Connect to `redis://host:port/db` and check that the server answers.

        At most ``pool_size`` connections: a caller that finds them all busy waits up to
        ``pool_timeout`` seconds for one, then gets StateStoreError (redis-py's default pool
        would fail at once with MaxConnectionsError past its 100 connections)."""
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            max_connections=pool_size or DEFAULT_POOL_SIZE,
            timeout=pool_timeout or DEFAULT_POOL_TIMEOUT_SECONDS,
        )
        # from_pool: the client owns the pool and closes it with itself.
        client = aioredis.Redis.from_pool(pool)
        store = cls(
            client,
            prefix=prefix,
            max_events=max_events,
            seen_ttl_seconds=seen_ttl_seconds,
            retention_seconds=retention_seconds,
        )
        try:
            await store.ping()
        except StateStoreError:
            await store.close()
            raise
        return store

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    def _client(self) -> aioredis.Redis:
        if self._closed:
            raise StateStoreError("Redis state store is closed")
        return self._redis

    @translated
    async def put_call(self, record: CallRecord) -> None:
        self._client()
        await self._calls.put(record)

    async def put_call_with_event(self, record: CallRecord, entry: dict[str, Any]) -> None:
        self._client()
        self._calls.defer(record, record.call_connection_id, entry)

    async def append_event(self, call_connection_id: str, entry: dict[str, Any]) -> None:
        self._client()
        self._calls.defer(None, call_connection_id, entry)

    @translated
    async def get_call(self, call_connection_id: str) -> CallRecord | None:
        self._client()
        return await self._calls.get(call_connection_id)

    @translated
    async def list_calls(self, live_only: bool = True) -> list[CallRecord]:
        self._client()
        return await self._calls.listing(live_only)

    @translated
    async def page_calls(
        self,
        *,
        limit: int,
        after: tuple[float, str] | None = None,
        room_prefix: str | None = None,
        live_only: bool = True,
    ) -> list[CallRecord]:
        self._client()
        return await self._calls.page(limit=limit, after=after, room_prefix=room_prefix, live_only=live_only)

    @translated
    async def count_calls(self, *, room_prefix: str | None = None, live_only: bool = True) -> int:
        self._client()
        return await self._calls.count(room_prefix=room_prefix, live_only=live_only)

    @translated
    async def find_live_call_by_room(self, room_id: str) -> CallRecord | None:
        self._client()
        return await self._calls.live_in_room(room_id)

    @translated
    async def events(self, call_connection_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        self._client()
        return await self._calls.events(call_connection_id, limit)

    @translated
    async def housekeep(self, now: float | None = None) -> int:
        # Seen ids and inbox entries need none: the former expire, the latter are deleted.
        self._client()
        return await self._calls.housekeep(time.time() if now is None else now)

    @translated
    async def mark_event_seen(self, event_id: str) -> bool:
        ttl_ms = max(1, round(self._seen_ttl * 1000))
        created = await self._client().set(self._key("seen", event_id), "1", nx=True, px=ttl_ms)
        return bool(created)

    @translated
    async def mark_events_seen(self, event_ids: Sequence[str]) -> set[str]:
        client = self._client()
        unique = list(dict.fromkeys(event_ids))
        if not unique:
            return set()
        ttl_ms = max(1, round(self._seen_ttl * 1000))
        # Each SET NX is atomic on its own; the pipeline only saves round trips, so no MULTI.
        async with client.pipeline(transaction=False) as pipe:
            for event_id in unique:
                pipe.set(self._key("seen", event_id), "1", nx=True, px=ttl_ms)
            created = await pipe.execute()
        return {event_id for event_id, was_set in zip(unique, created, strict=True) if was_set}

    @translated
    async def ingest(self, events: Sequence[InboxEvent]) -> list[InboxEvent]:
        unique = list({event.event_id: event for event in reversed(events)}.values())[::-1]
        if not unique:
            return []
        self._client()
        # With the ingests of other POSTs made meanwhile: one script call for all.
        fresh = await self._grouped_ingest(unique)
        return [event for event, new in zip(unique, fresh, strict=True) if new]

    async def _ingest_many(self, events: list[InboxEvent]) -> list[bool]:
        args: list[str | int] = [max(1, round(self._seen_ttl * 1000))]
        for event in events:
            args += (event.event_id, event.call_connection_id, event.body)
        return [bool(flag) for flag in await self._ingest(keys=[self._prefix], args=args)]

    @translated
    async def complete_events(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            self._client()
            # Never before the history entries of these events are written.
            await self._calls.settle()
            await self._complete(keys=[self._prefix], args=list(dict.fromkeys(event_ids)))

    @translated
    async def pending_events(
        self, call_connection_id: str | None = None, *, exclude: Collection[str] = ()
    ) -> list[InboxEvent]:
        client = self._client()
        index = (
            self._key("inbox")
            if call_connection_id is None
            else self._key("inbox", "call", call_connection_id)
        )
        # Ids only first: the bodies of what the reader has already are not sent again.
        ids = [event_id for event_id in _texts(await client.zrange(index, 0, -1)) if event_id not in exclude]
        if not ids:
            return []
        async with client.pipeline(transaction=False) as pipe:
            pipe.hmget(self._key("inbox", "events"), ids)
            pipe.hmget(self._key("inbox", "calls"), ids)
            bodies, calls = await pipe.execute()
        return [
            InboxEvent(event_id, _text(call), _text(body))
            for event_id, body, call in zip(ids, bodies, calls, strict=True)
            if body is not None and call is not None
        ]

    @translated
    async def pending_since(
        self, cursor: int, *, exclude: Collection[str] = ()
    ) -> tuple[list[InboxEvent], int]:
        client = self._client()
        # Seq and id are written by one script, so entries appear in seq order: none is skipped.
        replies = await client.zrangebyscore(self._key("inbox"), f"({cursor}", "+inf", withscores=True)
        scored: list[tuple[str, int]] = [(_text(pair[0]), int(pair[1])) for pair in replies]
        if not scored:
            return [], cursor
        latest = max(seq for _, seq in scored)
        ids = [event_id for event_id, _ in scored if event_id not in exclude]
        if not ids:
            return [], latest
        async with client.pipeline(transaction=False) as pipe:
            pipe.hmget(self._key("inbox", "events"), ids)
            pipe.hmget(self._key("inbox", "calls"), ids)
            bodies, calls = await pipe.execute()
        events = [
            InboxEvent(event_id, _text(call), _text(body))
            for event_id, body, call in zip(ids, bodies, calls, strict=True)
            if body is not None and call is not None
        ]
        return events, latest

    @translated
    async def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        self._client()
        ttl_ms = max(1, round(ttl_seconds * 1000))
        return bool(await self._acquire(keys=[self._key("lease", name)], args=[owner, ttl_ms]))

    @translated
    async def release_lease(self, name: str, owner: str) -> None:
        self._client()
        await self._release(keys=[self._key("lease", name)], args=[owner])

    @translated
    async def lease_owner(self, name: str) -> str | None:
        holder = await self._client().get(self._key("lease", name))
        return _text(holder) if holder is not None else None

    @translated
    async def get_doc(self, namespace: str, key: str) -> dict[str, Any] | None:
        self._client()
        return await self._docs.get(namespace, key)

    @translated
    async def put_doc(self, namespace: str, key: str, doc: dict[str, Any]) -> None:
        self._client()
        await self._docs.put(namespace, key, doc)

    @translated
    async def put_doc_if_absent(self, namespace: str, key: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        self._client()
        return await self._docs.put_if_absent(namespace, key, doc)

    @translated
    async def delete_doc(self, namespace: str, key: str) -> None:
        self._client()
        await self._docs.delete(namespace, key)

    @translated
    async def list_docs(self, namespace: str) -> list[dict[str, Any]]:
        self._client()
        return await self._docs.listing(namespace)

    def forget_cached(self) -> None:
        self._docs.cache.forget()

    def expect(self, open_callbacks: Callable[[], int]) -> None:
        self._grouped_ingest.open_callbacks = open_callbacks
        self._calls.open_callbacks = open_callbacks

    @property
    def guard(self) -> Callable[[], bool]:
        """True while this replica leads: writes behind that failed are retried only then."""
        return self._calls.guard

    @guard.setter
    def guard(self, guard: Callable[[], bool]) -> None:
        self._calls.guard = guard

    async def get_text(self, namespace: str, key: str) -> str | None:
        stored = await self._redis.hget(self._key("docs", namespace), key)
        return _text(stored) if stored is not None else None

    async def put_text(self, namespace: str, key: str, text: str) -> None:
        await self._redis.hset(self._key("docs", namespace), key, text)

    async def put_text_if_absent(self, namespace: str, key: str, text: str) -> str | None:
        docs = self._key("docs", namespace)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(docs, key, text)
            pipe.hget(docs, key)
            created, current = await pipe.execute()
        return None if created else _text(current)

    async def delete_text(self, namespace: str, key: str) -> None:
        await self._redis.hdel(self._key("docs", namespace), key)

    async def list_texts(self, namespace: str) -> dict[str, str]:
        return {
            _text(k): _text(v) for k, v in (await self._redis.hgetall(self._key("docs", namespace))).items()
        }

    async def ping(self) -> None:
        try:
            await self._client().ping()
        except (RedisError, OSError) as exc:
            raise StateStoreError(f"Redis state store does not answer: {exc}") from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._calls.settle()
        except (RedisError, OSError):
            pass
        finally:
            await self._redis.aclose()


def _text(value: object) -> str:
    # The client decodes responses, but redis-py types every reply as bytes | str.
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode()
    raise StateStoreError(f"unexpected Redis reply element: {type(value).__name__}")


def _texts(values: Iterable[object]) -> list[str]:
    return [_text(value) for value in values]
