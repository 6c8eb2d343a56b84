"""``GET /emulator/console/events``: server-sent events telling the console that something changed.

Everything the console shows changes either by a request (an ACS request, a control request:
anything but a GET) or by a delivery the emulator sends when a simulated time is up (a phone
answers, a prompt ends, keys time out). Both are watched; each listener gets one ``changed`` event
for a burst of changes, and the page reads again what it shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

HEARTBEAT_SECONDS = 15.0
RETRY_MS = 1000


class Changes:
    def __init__(self) -> None:
        # Each listener's queue holds at most one pending notice: a burst is one refresh.
        self._listeners: set[asyncio.Queue[bool]] = set()

    def notify(self) -> None:
        for queue in self._listeners:
            if queue.empty():
                queue.put_nowait(True)

    def close(self) -> None:
        for queue in self._listeners:
            if not queue.empty():
                queue.get_nowait()
            queue.put_nowait(False)

    @contextmanager
    def listen(self) -> Iterator[asyncio.Queue[bool]]:
        queue: asyncio.Queue[bool] = asyncio.Queue(1)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)


def stream_route(changes: Changes) -> web.RouteDef:
    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        with changes.listen() as queue:
            try:
                await response.write(f"retry: {RETRY_MS}\n: connected\n\n".encode())
                while True:
                    try:
                        async with asyncio.timeout(HEARTBEAT_SECONDS):
                            going_on = await queue.get()
                    except TimeoutError:
                        await response.write(b": keepalive\n\n")
                        continue
                    if not going_on:
                        break
                    await response.write(b"event: changed\ndata: {}\n\n")
                await response.write_eof()
            except ConnectionResetError:
                # The console went away; nothing to tell anyone.
                pass
        return response

    return web.get("/emulator/console/events", events)


def watch_requests(app: web.Application, changes: Changes) -> None:
    """Notify after every request that may change what the console shows (not its own, no GETs)."""

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS") and not request.path.startswith(
            "/emulator/console"
        ):
            changes.notify()

    async def on_shutdown(app: web.Application) -> None:
        changes.close()

    app.on_response_prepare.append(on_prepare)
    app.on_shutdown.append(on_shutdown)
