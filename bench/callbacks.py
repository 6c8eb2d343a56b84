"""Callback ingestion throughput: the bot's ``POST /api/callbacks`` against a bare aiohttp handler.

Both servers run in this process, on the same event loop, behind the same client session, in the
same run. The bare handler only parses the JSON body. The bot verifies the RS256 JWT, parses every
CloudEvent into typed models, de-duplicates by event id in its state store, and dispatches to the
handlers; its clock stops only when the dispatcher has drained, so queued work is counted too.
Bodies are realistic arrays of mid-call events (participant lists, media and DTMF outcomes) for a
few live calls; each POST carries a token minted by the emulator's callback signer.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import BenchError, median, serve, times
from bot import keys
from bot.testing import RunningBot, bot_settings, serve_bot
from emulator.app import mint_callback_token
from emulator.config import EmulatorConfig
from emulator.server import RunningEmulator, start_emulator

PATH = "/api/callbacks"
CALLS = 8
# Verification costs the same for a reused token (the bot caches keys, not tokens), and minting
# a fresh RS256 token for every POST would make the client, not the servers, the bottleneck.
TOKEN_POOL = 32


@dataclass(frozen=True)
class CallbackResult:
    posts: int
    events: int
    concurrency: int
    runs: int
    bare_events_per_second: float
    # By state store: "memory://", "sqlite (file)".
    bot_events_per_second: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        per_post = self.events / self.posts
        lines = [
            f"callback ingestion: {self.posts} POSTs ({self.events} events, {per_post:.1f} per POST), "
            f"{self.concurrency} in flight, median of {self.runs} run(s)",
            f"  {'bare aiohttp handler (json.loads only)':44} {self.bare_events_per_second:>10,.0f} events/s",
        ]
        for store, rate in self.bot_events_per_second.items():
            label = f"roombot /api/callbacks, state {store}"
            ratio = times(self.bare_events_per_second, rate)
            lines.append(f"  {label:44} {rate:>10,.0f} events/s   bare/roombot = {ratio}")
        return lines


def _identifier(raw_id: str) -> dict[str, Any]:
    if raw_id.startswith("4:"):
        return {"rawId": raw_id, "kind": "phoneNumber", "phoneNumber": {"value": raw_id[2:]}}
    return {"rawId": raw_id, "kind": "communicationUser", "communicationUser": {"id": raw_id}}


class _Call:
    """One live call and the mid-call traffic ACS would send about it."""

    def __init__(self, index: int) -> None:
        self.id = str(uuid.uuid4())
        self.room_id = str(10**16 + index)
        self.server_call_id = f"bench-server-call-{index}"
        self.correlation_id = str(uuid.uuid4())
        self.participants = [f"8:acs:bench_{uuid.uuid4()}" for _ in range(3)] + ["4:+14255550123"]
        self.sequence = 0

    def event(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        subject = f"calling/callConnections/{self.id}"
        return {
            "id": str(uuid.uuid4()),
            "source": subject,
            "type": f"Microsoft.Communication.{name}",
            "data": {
                "callConnectionId": self.id,
                "serverCallId": self.server_call_id,
                "correlationId": self.correlation_id,
                "resultInformation": {"code": 200, "subCode": 0, "message": "Action completed successfully."},
                **data,
            },
            "time": datetime.now(UTC).isoformat(),
            "specversion": "1.0",
            "datacontenttype": "application/json",
            "subject": subject,
        }

    def participants_updated(self) -> dict[str, Any]:
        self.sequence += 1
        listed = [
            {
                "identifier": {"rawId": raw_id, "kind": "communicationUser"},
                "isMuted": False,
                "isOnHold": False,
            }
            for raw_id in self.participants
        ]
        return self.event("ParticipantsUpdated", {"sequenceNumber": self.sequence, "participants": listed})

    def batch(self, turn: int) -> list[dict[str, Any]]:
        """The ``turn``-th callback body of this call: one to three events, as ACS batches them."""
        phone = _identifier(self.participants[-1])
        match turn % 5:
            case 0:
                return [self.participants_updated()]
            case 1:
                return [self.event("PlayStarted", {"operationContext": "announcements:bench"})]
            case 2:
                return [
                    self.event("PlayCompleted", {"operationContext": "announcements:bench"}),
                    self.event(
                        "RecognizeCompleted",
                        {
                            "operationContext": "menus:bench",
                            "recognitionType": "dtmf",
                            "dtmfResult": {"tones": ["one"]},
                        },
                    ),
                ]
            case 3:
                return [
                    self.event(
                        "AddParticipantSucceeded", {"operationContext": "dialout:bench", "participant": phone}
                    ),
                    self.participants_updated(),
                    self.event("ContinuousDtmfRecognitionToneReceived", {"tone": "five", "sequenceId": turn}),
                ]
            case _:
                return [
                    self.event("ContinuousDtmfRecognitionToneReceived", {"tone": "pound", "sequenceId": turn})
                ]


def _bodies(calls: Sequence[_Call], posts: int) -> tuple[list[bytes], int]:
    """``posts`` bodies spread over the calls, each call's in order; and how many events they hold."""
    bodies: list[bytes] = []
    events = 0
    for turn in range(posts):
        batch = calls[turn % len(calls)].batch(turn // len(calls))
        events += len(batch)
        bodies.append(json.dumps(batch).encode())
    return bodies, events


async def _post_all(
    session: aiohttp.ClientSession, url: str, bodies: list[bytes], tokens: list[str], concurrency: int
) -> None:
    async def worker(offset: int) -> None:
        for index in range(offset, len(bodies), concurrency):
            headers = {
                "Authorization": f"Bearer {tokens[index % len(tokens)]}",
                "Content-Type": "application/json",
            }
            async with session.post(url, data=bodies[index], headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise BenchError(f"POST {url} answered {response.status}")

    await asyncio.gather(*(worker(offset) for offset in range(concurrency)))


def _bare_app() -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        events = json.loads(await request.read())
        return web.json_response({"received": len(events)})

    app = web.Application()
    app.router.add_post(PATH, receive)
    return app


async def _register(bot: RunningBot, calls: Sequence[_Call]) -> None:
    # The calls the events belong to are live, as if the bot had connected to their rooms.
    registry = bot.app[keys.REGISTRY]
    for call in calls:
        await registry.register_connecting(call.room_id, call.id, call.server_call_id, call.correlation_id)


async def _seconds(
    session: aiohttp.ClientSession, url: str, bodies: list[bytes], tokens: list[str], concurrency: int
) -> float:
    """Seconds to deliver ``bodies`` to the bare handler."""
    started = time.perf_counter()
    await _post_all(session, url, bodies, tokens, concurrency)
    return time.perf_counter() - started


async def _bots(emulator: RunningEmulator, stores: Sequence[str], directory: Path) -> dict[str, RunningBot]:
    bots: dict[str, RunningBot] = {}
    try:
        for store in stores:
            state_url = f"sqlite:///{directory / 'bench.db'}" if store == "sqlite" else store
            bots[store] = await serve_bot(partial(bot_settings, emulator, state_url=state_url))
    except BaseException:
        for bot in bots.values():
            await bot.close()
        raise
    return bots


async def _bot_seconds(
    session: aiohttp.ClientSession, bot: RunningBot, bodies: list[bytes], tokens: list[str], concurrency: int
) -> float:
    started = time.perf_counter()
    await _post_all(session, bot.url + PATH, bodies, tokens, concurrency)
    await bot.app[keys.INTAKE].drain()
    return time.perf_counter() - started


async def measure(
    *,
    posts: int = 2000,
    runs: int = 5,
    concurrency: int = 16,
    stores: Sequence[str] = ("memory://", "sqlite"),
) -> CallbackResult:
    """Median events/s of the bare handler and of the bot with each state store (``sqlite``: a
    file in a temporary directory, the default kind of store)."""
    if posts < 1 or runs < 1 or concurrency < 1:
        raise ValueError("posts, runs and concurrency must be at least 1")
    emulator = await start_emulator(EmulatorConfig())
    try:
        tokens = [mint_callback_token(emulator.app) for _ in range(TOKEN_POOL)]
        calls = [_Call(i) for i in range(CALLS)]
        with tempfile.TemporaryDirectory(prefix="roombot-bench-") as directory:
            bots = await _bots(emulator, stores, Path(directory))
            try:
                async with serve(_bare_app()) as bare_url, aiohttp.ClientSession() as session:
                    for bot in bots.values():
                        await _register(bot, calls)
                    # Warm-up: the bot loads the signing keys, both servers open connections.
                    warm, _ = _bodies(calls, concurrency)
                    for url in [bare_url + PATH, *(bot.url + PATH for bot in bots.values())]:
                        await _post_all(session, url, warm, tokens, concurrency)
                    bare: list[float] = []
                    rates: dict[str, list[float]] = {store: [] for store in bots}
                    for _ in range(runs):
                        # Fresh event ids every run, or the bots would drop them all as duplicates;
                        # within a run every server gets the very same bodies.
                        bodies, events = _bodies(calls, posts)
                        bare.append(
                            events / await _seconds(session, bare_url + PATH, bodies, tokens, concurrency)
                        )
                        for store, bot in bots.items():
                            seconds = await _bot_seconds(session, bot, bodies, tokens, concurrency)
                            rates[store].append(events / seconds)
            finally:
                for bot in bots.values():
                    await bot.close()
    finally:
        await emulator.close()
    return CallbackResult(
        posts=posts,
        events=events,
        concurrency=concurrency,
        runs=runs,
        bare_events_per_second=median(bare),
        bot_events_per_second={
            ("sqlite (file)" if s == "sqlite" else s): median(r) for s, r in rates.items()
        },
    )
