"""The log of ACS requests received, oldest first, for tests (`GET /emulator/requests`)."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from emulator.errors import AcsError
from emulator.repeatability import HEADER as REPEATABILITY_HEADER


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
            response = exc.response()
        log.record(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "repeatabilityRequestId": request.headers.get(REPEATABILITY_HEADER),
                "status": response.status,
                "body": _parse_body(raw),
                "receivedAt": datetime.now(UTC).isoformat(),
            }
        )
        return response

    return middleware
