"""`Repeatability-Request-ID`: the same id within the window answers the first result again.

ACS remembers an id for about five minutes. A repeat never performs the action a second time,
even when it arrives while the first is still being processed: it waits for that answer.
Answers of 5xx are not remembered, so that a retry after a server failure is processed anew.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from emulator.errors import AcsError

HEADER = "Repeatability-Request-ID"
FIRST_SENT_HEADER = "Repeatability-First-Sent"


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
        response.headers["Repeatability-Result"] = "accepted"
        return response


class RepeatabilityCache:
    """Answers remembered by request id, with one lock per id so repeats wait for the first."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl_seconds = ttl_seconds
        self._answers: dict[str, StoredAnswer] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.ttl_seconds
        for key in [k for k, v in self._answers.items() if v.stored_at < cutoff]:
            del self._answers[key]
            self._locks.pop(key, None)

    def lock(self, request_id: str) -> asyncio.Lock:
        return self._locks.setdefault(request_id, asyncio.Lock())

    def get(self, request_id: str) -> StoredAnswer | None:
        self._expire()
        return self._answers.get(request_id)

    def put(self, request_id: str, response: web.Response) -> None:
        body = response.body if isinstance(response.body, bytes) else b""
        kept_names = {"location", "x-ms-error-code"}
        kept = tuple((k, v) for k, v in response.headers.items() if k.lower() in kept_names)
        self._answers[request_id] = StoredAnswer(
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
        async with cache.lock(request_id):
            stored = cache.get(request_id)
            if stored is not None:
                return stored.response()
            try:
                response = await handler(request)
            except AcsError as exc:
                response = exc.response()
            if isinstance(response, web.Response) and response.status < 500:
                cache.put(request_id, response)
            return response

    return middleware
