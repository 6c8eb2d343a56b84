"""Pages of ``GET /ops/calls``: ``?limit=`` (1..500, default 100), ``?cursor=`` and ``?roomId=``.

Live calls are listed oldest first. A cursor is opaque to clients: the start time and id of the
last call of the page before, so a page stays right while calls start and end between requests.
The store reads only the page and counts the rest through its indexes (`StateStore.page_calls`),
so a page costs the same at 10 or 10,000 live calls.
The answer is the array of the page; ``X-Total-Count`` is the number of calls that match (all
pages), and ``Link: <...>; rel="next"`` is where the next page is, when there is one.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from bot.problems import ProblemError
from bot.registry import CallRegistry
from bot.state.base import CallRecord

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
TOTAL_HEADER = "X-Total-Count"


@dataclass(frozen=True)
class Page:
    calls: list[CallRecord]
    total: int
    next_cursor: str | None

    def headers(self, path: str, limit: int, room_filter: str | None) -> dict[str, str]:
        headers = {TOTAL_HEADER: str(self.total)}
        if self.next_cursor is not None:
            query = {"limit": str(limit), "cursor": self.next_cursor}
            if room_filter:
                query["roomId"] = room_filter
            headers["Link"] = f'<{path}?{urlencode(query)}>; rel="next"'
        return headers


# What encode_cursor makes: unpadded base64url (empty: the first page).
CURSOR_REGEX = "^[A-Za-z0-9_-]{0,1000}$"
CURSOR_PATTERN = re.compile(CURSOR_REGEX)


def encode_cursor(call: CallRecord) -> str:
    text = json.dumps([call.started_at.isoformat(), call.call_connection_id])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """A cursor that is no base64url text is a bad request (400); one that is, but names no page
    this list ever gave, asks for a page that does not exist (404)."""
    if not CURSOR_PATTERN.fullmatch(cursor):
        raise ProblemError(400, "Invalid cursor", "cursor must be one a previous page's Link gave.")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        started_at, call_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(started_at), str(call_id)
    except (ValueError, TypeError, binascii.Error):
        raise ProblemError(404, "No such page", "No page of this list has that cursor.") from None


def limit_of(request: web.Request) -> int:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ProblemError(400, "Invalid limit", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


async def page_of(registry: CallRegistry, *, limit: int, cursor: str | None, room_filter: str | None) -> Page:
    """The page after ``cursor`` of the live calls whose room id starts with ``room_filter``."""
    after = None
    if cursor:
        started_at, call_id = decode_cursor(cursor)
        after = (started_at.timestamp(), call_id)
    # One more than the page: whether there is a next one.
    calls = await registry.live_page(limit=limit + 1, after=after, room_prefix=room_filter)
    total = await registry.count_live(room_filter)
    page = calls[:limit]
    next_cursor = encode_cursor(page[-1]) if len(calls) > limit else None
    return Page(page, total, next_cursor)
