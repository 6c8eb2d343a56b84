"""``python -m bench.target KIND CONFIG_JSON``: one server under test, alone in its process.

KIND is what serves ``POST /api/callbacks``:

- ``bare``: an aiohttp handler that only ``json.loads`` the body;
- ``bare-jwt``: the same, after verifying the ``Authorization: Bearer`` JWT as every ACS callback
  must be (RS256 with the key of the JWKS named by the OpenID configuration; ``iss``, ``aud`` and
  ``exp`` required and checked), with the bot's own verifier, the fastest here: the floor of
  callback ingestion;
- ``reactor``: the bare handler that, for each ``RecognizeCompleted``, sends one request to ACS
  (``POST .../callConnections/{id}:play``) on a shared session: the floor of event-to-action latency;
- ``roombot``: the bot (``bot.app.create_app``) with the Settings fields of CONFIG_JSON.

Next to it, on a second port, a control site the load process uses between measurements (never
during one): ``GET /cpu`` (this process's CPU seconds, all threads, user + system, and its RSS),
``POST /register`` (live calls, through the bot's registry, as if it had connected to them),
``POST /drain`` (waits until the bot has processed every stored event), ``POST /populate?first&count``
(live calls made through the registry, each connected with four participants). Once both listen, one
line ``{"url": ..., "control": ...}`` is printed on stdout.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import psutil
from aiohttp import web

from bench.common import serve
from bench.traffic import Call
from bot.auth.callback_jwt import CallbackAuthError, CallbackVerifier
from bot.cli.gc_tuning import tune_after_start_up

PATH = "/api/callbacks"
# Event ids written per call of `mark_events_seen` while a store is filled for a measurement.
REMEMBER_BATCH = 50_000
# How often the housekeeping measurement looks at the event loop.
TICK_SECONDS = 0.001
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bare_app() -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        events = json.loads(await request.read())
        return web.json_response({"received": len(events)})

    app = web.Application()
    app.router.add_post(PATH, receive)
    return app


def bare_jwt_app(config: dict[str, Any]) -> web.Application:
    """The bare handler behind the bot's own callback check (``CallbackVerifier``: RS256 on
    cached ``cryptography`` keys, every claim checked), the cheapest complete verification there
    is here, so that the floor flatters nobody."""
    verifier_key = web.AppKey("verifier", CallbackVerifier)

    async def receive(request: web.Request) -> web.Response:
        try:
            await request.app[verifier_key].verify(request.headers.get("Authorization"))
        except CallbackAuthError:
            return web.json_response({"error": "unauthorized"}, status=401)
        events = json.loads(await request.read())
        return web.json_response({"received": len(events)})

    async def verifier(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app[verifier_key] = CallbackVerifier(config["acs_openid_url"], config["acs_resource_id"], session)
            yield

    app = web.Application()
    app.cleanup_ctx.append(verifier)
    app.router.add_post(PATH, receive)
    return app


def reactor_app(config: dict[str, Any]) -> web.Application:
    acs = config["acs_connection_string"].split(";")[0].removeprefix("endpoint=").rstrip("/")
    sending: set[asyncio.Task[None]] = set()
    session_key = web.AppKey("session", aiohttp.ClientSession)

    async def act(session: aiohttp.ClientSession, call_id: str) -> None:
        body = {"playSources": [{"kind": "text", "text": {"text": "Connecting you now."}}]}
        async with session.post(f"{acs}/calling/callConnections/{call_id}:play", json=body) as reply:
            await reply.read()

    async def receive(request: web.Request) -> web.Response:
        events = json.loads(await request.read())
        for event in events:
            if event["type"].endswith(".RecognizeCompleted"):
                task = asyncio.create_task(act(request.app[session_key], event["data"]["callConnectionId"]))
                sending.add(task)
                task.add_done_callback(sending.discard)
        return web.json_response({"received": len(events)})

    async def session(app: web.Application) -> Any:
        async with aiohttp.ClientSession() as client:
            app[session_key] = client
            yield

    app = web.Application()
    app.cleanup_ctx.append(session)
    app.router.add_post(PATH, receive)
    return app


def control_app(bot: web.Application | None) -> web.Application:
    process = psutil.Process()

    async def cpu(request: web.Request) -> web.Response:
        return web.json_response({"cpu": time.process_time(), "rss": process.memory_info().rss})

    async def register(request: web.Request) -> web.Response:
        from bot import keys

        assert bot is not None, "only the bot registers calls"
        registry = bot[keys.REGISTRY]
        for call in await request.json():
            _, early = await registry.register_connecting(
                call["roomId"], call["callConnectionId"], call["serverCallId"], call["correlationId"]
            )
            bot[keys.INTAKE].submit(early)
        return web.json_response({})

    async def drain(request: web.Request) -> web.Response:
        from bot import keys

        if bot is not None:
            await bot[keys.INTAKE].drain()
        return web.json_response({})

    async def populate(request: web.Request) -> web.Response:
        from bot import keys
        from bot.events import parse_event

        assert bot is not None, "only the bot keeps calls"
        registry = bot[keys.REGISTRY]
        first, count = int(request.query["first"]), int(request.query["count"])
        for index in range(first, first + count):
            call = Call(index)
            await registry.register_connecting(
                call.room_id, call.id, call.server_call_id, call.correlation_id
            )
            for element in (call.event("CallConnected", {}), call.participants_updated()):
                await registry.apply(parse_event(element))
        return web.json_response({})

    async def connect(request: web.Request) -> web.Response:
        from bot import keys
        from bot.events import parse_event

        assert bot is not None, "only the bot connects"
        commands, registry = bot[keys.COMMANDS], bot[keys.REGISTRY]
        first, count = int(request.query["first"]), int(request.query["count"])
        started = time.perf_counter()
        for index in range(first, first + count):
            call = Call(index)
            # The bot's own connect path: the room's lock and lease, the look for a live call of
            # the room, the connect request to ACS, the registration; then ACS's CallConnected.
            result = await commands.connect(call.room_id)
            if not result.created:
                raise web.HTTPConflict(text=f"room {call.room_id} already had a call")
            call.id = result.call.call_connection_id
            await registry.apply(parse_event(call.event("CallConnected", {})))
        return web.json_response({"seconds": time.perf_counter() - started})

    async def remember(request: web.Request) -> web.Response:
        from bot import keys

        assert bot is not None, "only the bot remembers event ids"
        store, count = bot[keys.STORE], int(request.query["count"])
        # Random ids, as real event ids are, written in sorted order: the store holds the same ids
        # as after random arrivals, in a tree SQLite builds by appending, its pages fuller than
        # random arrivals leave them (random order costs a page write per id: over five minutes
        # for 5 million).
        rng = random.Random(count)
        ids = sorted(str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count))
        for start in range(0, count, REMEMBER_BATCH):
            await store.mark_events_seen(ids[start : start + REMEMBER_BATCH])
        return web.json_response({})

    async def housekeep(request: web.Request) -> web.Response:
        from bot import keys

        assert bot is not None, "only the bot keeps a store"
        store = bot[keys.STORE]
        steps, ahead = int(request.query["steps"]), float(request.query["ahead"])
        longest_lag = 0.0
        running = True

        async def tick() -> None:
            nonlocal longest_lag
            while running:
                before = time.perf_counter()
                await asyncio.sleep(TICK_SECONDS)
                longest_lag = max(longest_lag, time.perf_counter() - before - TICK_SECONDS)

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(TICK_SECONDS * 2)
        removed, longest_step = 0, 0.0
        for _ in range(steps):
            started = time.perf_counter()
            removed += await store.housekeep(now=time.time() + ahead)
            longest_step = max(longest_step, time.perf_counter() - started)
            await asyncio.sleep(0)
        running = False
        await ticker
        return web.json_response(
            {"removed": removed, "longestStepMs": longest_step * 1000, "longestLoopLagMs": longest_lag * 1000}
        )

    app = web.Application()
    app.router.add_post("/remember", remember)
    app.router.add_post("/housekeep", housekeep)
    app.router.add_post("/populate", populate)
    app.router.add_post("/connect", connect)
    app.router.add_get("/cpu", cpu)
    app.router.add_post("/register", register)
    app.router.add_post("/drain", drain)
    return app


async def _serve_bot(
    config: dict[str, Any], ready: Callable[[str, web.Application], Awaitable[None]]
) -> None:
    from bot.testing import serve_bot
    from bot.testing.serving import IsolatedSettings

    bot = await serve_bot(lambda url: IsolatedSettings(**{"callback_base_url": url, **config}))
    # As `roombot serve` does once started: start-up's objects frozen, young collections rarer.
    tune_after_start_up()
    try:
        await ready(bot.url, bot.app)
    finally:
        await bot.close()


async def main(kind: str, config: dict[str, Any]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    async def ready(url: str, bot: web.Application | None) -> None:
        async with serve(control_app(bot)) as control:
            print(json.dumps({"url": url, "control": control}), flush=True)
            await stop.wait()

    if kind == "roombot":
        await _serve_bot(config, ready)
        return
    makers: dict[str, Callable[[], web.Application]] = {
        "bare": bare_app,
        "bare-jwt": lambda: bare_jwt_app(config),
        "reactor": lambda: reactor_app(config),
    }
    async with serve(makers[kind]()) as url:
        await ready(url, None)


if __name__ == "__main__":
    import logging

    from bot.logs import configure_logging

    configure_logging(logging.WARNING)
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
