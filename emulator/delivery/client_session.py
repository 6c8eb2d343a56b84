"""The HTTP client session of an outbound part of the emulator (callbacks, Event Grid deliveries,
audio file downloads): opened when the app starts, closed after that part's own cleanup."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

import aiohttp
from aiohttp import web


class UsesSession(Protocol):
    # None while the app is not running: what is sent then is dropped.
    session: aiohttp.ClientSession | None


def client_session_context(
    user: UsesSession,
    close: Callable[[], Awaitable[None]],
    trace_configs: Sequence[aiohttp.TraceConfig] = (),
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` that gives ``user`` a session for as long as the app runs; on the way out
    ``close`` runs (stopping what still uses the session) before the session closes.
    ``trace_configs`` watch what the session sends (the console's delivery log)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(trace_configs=list(trace_configs) or None) as session:
            user.session = session
            try:
                yield
            finally:
                await close()
                user.session = None

    return context
