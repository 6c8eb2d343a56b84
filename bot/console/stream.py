"""``GET /ops/events``: the live feed as server-sent events (ops key).

Each change to a call is one ``event: call`` whose data is the notice (``callConnectionId``,
``roomId``, ``cause``, ``at``); a comment line every ``HEARTBEAT_SECONDS`` keeps proxies from
closing an idle stream. The console reads it with ``fetch`` (``EventSource`` cannot send the
bearer header) and reconnects when it ends; the bot ends every stream when it shuts down.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from bot import keys

HEARTBEAT_SECONDS = 15.0
# How long a browser waits before reconnecting a stream that ended (SSE's `retry`, in ms).
RETRY_MS = 2000

routes = web.RouteTableDef()


@routes.get("/ops/events")
async def events(request: web.Request) -> web.StreamResponse:
    request.app[keys.API_KEYS].require(request, "ops")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            # nginx and similar proxies would otherwise buffer the stream.
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    with request.app[keys.FEED].listen() as notices:
        try:
            await response.write(f"retry: {RETRY_MS}\n: connected\n\n".encode())
            while True:
                try:
                    async with asyncio.timeout(HEARTBEAT_SECONDS):
                        notice = await notices.get()
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if notice is None:
                    break
                await response.write(f"event: call\ndata: {json.dumps(notice)}\n\n".encode())
            await response.write_eof()
        except ConnectionResetError:
            # The console went away; nothing to tell anyone.
            pass
    return response
