"""``GET /console`` and its assets: the operator console's page, stylesheet and scripts.

The page holds no secret and needs no key: signing in happens in the browser, which keeps the ops
key in its session storage and sends it as the bearer header of every ``/ops`` request. The
assets are the files of ``static/`` (package data), served as they are: no build step.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.problems import ProblemError

STATIC = Path(__file__).parent / "static"
CONTENT_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
}
# The page talks to this origin only, runs no inline script and is never framed.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def static_response(folder: Path, name: str) -> web.Response:
    """A file of ``folder`` by its plain name (no paths), with the console's headers; 404 else."""
    path = folder / name
    content_type = CONTENT_TYPES.get(path.suffix)
    if "/" in name or name.startswith(".") or content_type is None or not path.is_file():
        raise ProblemError(404, "Not found", f"The console has no file {name!r}.")
    return web.Response(
        body=path.read_bytes(), headers={**HEADERS, "Content-Type": f"{content_type}; charset=utf-8"}
    )


routes = web.RouteTableDef()


@routes.get("/console")
async def console(request: web.Request) -> web.Response:
    return static_response(STATIC, "index.html")


@routes.get("/console/assets/{name}")
async def asset(request: web.Request) -> web.Response:
    return static_response(STATIC, request.match_info["name"])
