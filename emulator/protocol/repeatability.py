"""`Repeatability-Request-ID`: the same id within the window answers the first result again.

ACS remembers an id for about five minutes. A repeat never performs the action a second time,
even when it arrives while the first is still being processed: it waits for that answer.
Answers of 5xx (and requests that raised) are not remembered, so that a retry after a server
failure is processed anew. Every remembered answer, the first as well as its repeats, carries
``Repeatability-Result: accepted``, as recorded live answers do (``Azure/azure-sdk-assets``: the
201 of a Rooms create, the 202 of ``participants:add``, even the 404 of a ``:terminate`` of a call
already gone, in the .NET Call Automation live tests).

An id is remembered per operation, as (method, path, id): the same id sent to another
operation is that operation's own request, not a repeat of the first one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from emulator.protocol.errors import AcsError

HEADER = "Repeatability-Request-ID"
FIRST_SENT_HEADER = "Repeatability-First-Sent"
RESULT_HEADER = "Repeatability-Result"
ACCEPTED = "accepted"

# (method, path, Repeatability-Request-ID)
Key = tuple[str, str, str]


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: bytes
    content_type: str | None
    headers: tuple[tuple[str, str], ...]
    stored_at: float

    def response(self) -> web.Response:
        response = web.Response(status=self.status, body=self.body, headers=dict(self.headers))
        if self.content_type:
            response.content_type = self.content_type
        response.headers[RESULT_HEADER] = ACCEPTED
        return response


@dataclass
class _Slot:
    lock: asyncio.Lock
    # Requests holding or waiting for the lock; the slot goes when the last one is done.
    users: int = 0


class RepeatabilityCache:
    """Answers remembered by key, oldest first, and one lock per key while requests use it, so
    that repeats wait for the first."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl_seconds = ttl_seconds
        # Insertion order is storage order, so expired answers are always at the front.
        self._answers: OrderedDict[Key, StoredAnswer] = OrderedDict()
        self._slots: dict[Key, _Slot] = {}

    def __len__(self) -> int:
        """How many answers are remembered."""
        self._expire()
        return len(self._answers)

    @property
    def busy_keys(self) -> int:
        """How many keys have a request in progress (or waiting)."""
        return len(self._slots)

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.ttl_seconds
        while self._answers:
            key, answer = next(iter(self._answers.items()))
            if answer.stored_at >= cutoff:
                return
            del self._answers[key]

    @asynccontextmanager
    async def exclusive(self, key: Key) -> AsyncIterator[None]:
        """Hold ``key``'s lock; the lock is dropped once nobody holds or waits for it."""
        slot = self._slots.setdefault(key, _Slot(asyncio.Lock()))
        slot.users += 1
        try:
            async with slot.lock:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[key]

    def get(self, key: Key) -> StoredAnswer | None:
        self._expire()
        return self._answers.get(key)

    def put(self, key: Key, response: web.Response) -> None:
        body = response.body if isinstance(response.body, bytes) else b""
        kept_names = {"location", "x-ms-error-code"}
        kept = tuple((k, v) for k, v in response.headers.items() if k.lower() in kept_names)
        self._answers.pop(key, None)
        self._answers[key] = StoredAnswer(
            response.status, body, response.content_type, kept, time.monotonic()
        )


def repeatability_middleware(cache: RepeatabilityCache) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = request.headers.get(HEADER)
        if request_id is None or request.method != "POST":
            return await handler(request)
        try:
            uuid.UUID(request_id)
        except ValueError:
            raise AcsError(400, "BadRequest", f"The {HEADER} header must be a UUID.", target=HEADER) from None
        key = (request.method, request.path, request_id)
        async with cache.exclusive(key):
            stored = cache.get(key)
            if stored is not None:
                return stored.response()
            try:
                response = await handler(request)
            except AcsError as exc:
                response = exc.response(request.path)
            if isinstance(response, web.Response) and response.status < 500:
                response.headers[RESULT_HEADER] = ACCEPTED
                cache.put(key, response)
            return response

    return middleware
