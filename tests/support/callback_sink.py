"""A real HTTP receiver for callbacks and webhooks in tests.

``CallbackSink`` is an aiohttp server on a free loopback port that records every POST (path,
headers, parsed JSON body) and answers 200, or whatever a responder registered for the path
says. ``wait_for`` waits until a condition over the recorded posts holds::

    async with CallbackSink() as sink:
        url = sink.url("/callbacks")
        ...
        await sink.wait_for(lambda s: "Microsoft.Communication.CallConnected" in s.event_types())
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web
from multidict import CIMultiDict

# Long enough for a loaded CI machine; tests never assert on how quickly things arrive.
DEFAULT_TIMEOUT = 10.0

T = TypeVar("T")


@dataclass(frozen=True)
class ReceivedPost:
    path: str
    # Case-insensitive, as HTTP header names are.
    headers: Mapping[str, str]
    body: Any
    raw: bytes

    @property
    def events(self) -> list[dict[str, Any]]:
        """The body as a list of events (callbacks and Event Grid both POST JSON arrays)."""
        if isinstance(self.body, list):
            return [e for e in self.body if isinstance(e, dict)]
        return []


Responder = Callable[[ReceivedPost], Awaitable[web.StreamResponse]]


class CallbackSink:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self.posts: list[ReceivedPost] = []
        self._responders: dict[str, Responder] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> CallbackSink:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self._host}:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> CallbackSink:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def url(self, path: str = "/callbacks") -> str:
        return self.base_url + path

    def respond(self, path: str, responder: Responder) -> None:
        """Answer POSTs to ``path`` with ``responder`` instead of a plain 200."""
        self._responders[path] = responder

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        post = ReceivedPost(request.path, CIMultiDict(request.headers), body, raw)
        async with self._changed:
            self.posts.append(post)
            self._changed.notify_all()
        responder = self._responders.get(request.path)
        if responder is not None:
            return await responder(post)
        return web.Response(status=200)

    def posts_to(self, path: str) -> list[ReceivedPost]:
        return [p for p in self.posts if p.path == path]

    def events(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every event received (at ``path``, or anywhere), in arrival order, arrays flattened."""
        posts = self.posts if path is None else self.posts_to(path)
        return [event for post in posts for event in post.events]

    def event_types(self, path: str | None = None) -> list[str]:
        """The CloudEvent ``type`` (or Event Grid ``eventType``) of every event received."""
        return [str(e.get("type") or e.get("eventType")) for e in self.events(path)]

    async def wait_for(
        self, condition: Callable[[CallbackSink], T | None], within: float = DEFAULT_TIMEOUT
    ) -> T:
        """Wait until ``condition(self)`` is truthy and return its value; fail after ``within``
        seconds, naming what did arrive."""
        async with self._changed:
            try:
                async with asyncio.timeout(within):
                    while not (result := condition(self)):
                        await self._changed.wait()
            except TimeoutError:
                raise AssertionError(
                    f"condition not met within {within}s; received {self.event_types()}"
                ) from None
        return result
