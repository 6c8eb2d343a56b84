"""Server-driven paging: ``{value, nextLink}``.

The service's real page size is not documented; the emulator uses small pages so that clients
(and tests) meet ``nextLink`` early. ``maxpagesize`` lowers it further. ``nextLink`` is absolute,
built from the URL the client used, and carries an opaque ``skipToken`` of plain digits: the SDK
re-quotes the query of a nextLink before sending it, which would mangle characters that need
escaping. Assumption: a page is an offset into the current list, so a room created or deleted
between two page requests can shift items, as with many offset-paged services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from aiohttp import web

from emulator.protocol.errors import bad_argument

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
SKIP_TOKEN = "skipToken"  # noqa: S105 (a query parameter name, not a secret)
MAX_PAGE_SIZE_PARAM = "maxpagesize"

T = TypeVar("T")


def _int_param(request: web.Request, name: str, default: int, minimum: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
        raise bad_argument(f"Invalid value '{raw}' for {name}.", name)
    return int(raw)


def page_of(request: web.Request, items: Sequence[T]) -> tuple[list[T], str | None]:
    """The items of the page the request asks for, and the link to the next page if any."""
    start = _int_param(request, SKIP_TOKEN, 0, 0)
    size = min(_int_param(request, MAX_PAGE_SIZE_PARAM, DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    end = start + size
    if end >= len(items):
        return list(items[start:]), None
    query = {k: v for k, v in request.query.items() if k != SKIP_TOKEN}
    query[SKIP_TOKEN] = str(end)
    return list(items[start:end]), str(request.url.with_query(query))


def paged_response(request: web.Request, values: Sequence[dict[str, Any]]) -> web.Response:
    page, next_link = page_of(request, values)
    body: dict[str, Any] = {"value": page}
    if next_link is not None:
        body["nextLink"] = next_link
    return web.json_response(body)
