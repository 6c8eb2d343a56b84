"""The log of ACS requests received, oldest first, for tests (`GET /emulator/requests`).

Each entry holds the request body parsed as JSON (or as text). A body over ``MAX_BODY_BYTES``
is recorded as the text of its first ``MAX_BODY_BYTES`` bytes with ``bodyTruncated: true`` and
its full size in ``bodySize``, so that a long-running emulator keeps a bounded log.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from emulator.protocol.errors import AcsError
from emulator.protocol.repeatability import HEADER as REPEATABILITY_HEADER

MAX_BODY_BYTES = 64 * 1024


class RequestLog:
    """A bounded log: old entries fall off so a long-running emulator does not grow forever."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)

    def record(self, entry: dict[str, Any]) -> None:
        self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()


def _body_fields(raw: bytes) -> dict[str, Any]:
    if len(raw) <= MAX_BODY_BYTES:
        return {"body": _parse_body(raw)}
    prefix = raw[:MAX_BODY_BYTES].decode("utf-8", errors="replace")
    return {"body": prefix, "bodyTruncated": True, "bodySize": len(raw)}


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")


def request_log_middleware(log: RequestLog, is_logged: Callable[[str], bool]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_logged(request.path):
            return await handler(request)
        raw = await request.read()
        try:
            response = await handler(request)
        except AcsError as exc:
            response = exc.response(request.path)
        log.record(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "repeatabilityRequestId": request.headers.get(REPEATABILITY_HEADER),
                "status": response.status,
                **_body_fields(raw),
                "receivedAt": datetime.now(UTC).isoformat(),
            }
        )
        return response

    return middleware
