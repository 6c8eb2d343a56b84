"""``GET /emulator/console`` and its assets, the files of ``static/`` (package data), as they are."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from emulator.protocol.errors import AcsError

STATIC = Path(__file__).parent / "static"
CONTENT_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _file(name: str) -> web.Response:
    path = STATIC / name
    content_type = CONTENT_TYPES.get(path.suffix)
    if "/" in name or name.startswith(".") or content_type is None or not path.is_file():
        raise AcsError(404, "NotFound", f"The emulator console has no file {name!r}.")
    return web.Response(
        body=path.read_bytes(), headers={**HEADERS, "Content-Type": f"{content_type}; charset=utf-8"}
    )


async def console(request: web.Request) -> web.Response:
    return _file("index.html")


async def asset(request: web.Request) -> web.Response:
    return _file(request.match_info["name"])


def page_routes() -> list[web.RouteDef]:
    return [web.get("/emulator/console", console), web.get("/emulator/console/assets/{name}", asset)]
