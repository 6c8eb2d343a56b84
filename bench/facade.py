"""The cost of one ACS action through the bot's facade against the same request made by hand.

The emulator runs in a child process, and so does the client measured: a process spawned for it
(``multiprocessing``, ``spawn``) that does nothing but the actions, so that its
``time.process_time()`` (every thread: aiohttp's and azure-core's thread-pool work included)
counts the client side only. For the facade that is the SDK's serialization and policy pipeline,
the retry policy and the translation to domain types, with the facade built as the bot builds it
(``AcsFacade.from_settings``); for the bare side, an aiohttp GET signed with HMAC
(``emulator.protocol.hmac_auth.sign``, the signature ACS checks) and a ``json`` parse of the
answer. Both read the same call of a room the bot has joined, alternately, in the same run; this
process only sets the call up and takes the emulator's callbacks. The ratio printed is the median
of each run's ratio, its two sides measured back to back (which goes first alternates), so that
the machine's drift between runs, which moves both sides alike, cancels out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from aiohttp import web
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.communication.rooms import CommunicationUserIdentifier, ParticipantRole, RoomParticipant
from azure.communication.rooms.aio import RoomsClient
from azure.core.credentials import AzureKeyCredential

from bench.common import BenchError, EmulatorProcess, emulator_process, median, paired_times, serve
from bot.acs import AcsFacade
from config.settings import Settings
from emulator.protocol.hmac_auth import content_hash, sign

# The version the SDK speaks by default, so that both sides ask for the same thing.
API_VERSION = "2026-03-12"
WARM_UP = 10
POLL_SECONDS = 0.02
CONNECT_TIMEOUT = 30.0


@dataclass(frozen=True)
class ActionCost:
    action: str
    bare_cpu_ms: float
    bare_wall_ms: float
    facade_cpu_ms: float
    facade_wall_ms: float
    # Each run's (CPU ms, wall ms) per action, of each side: the two sides of a run back to back.
    bare_runs: tuple[tuple[float, float], ...]
    facade_runs: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class FacadeResult:
    actions_per_run: int
    runs: int
    costs: list[ActionCost]

    def lines(self) -> list[str]:
        lines = [
            f"one ACS action, emulator and client each in its own process: {self.actions_per_run} "
            f"actions per run, median of {self.runs} run(s), client CPU (time.process_time of the "
            "client process) and wall time",
            _row("", "CPU ms/action", "wall ms/action"),
        ]
        for cost in self.costs:
            lines += [
                _row(
                    f"{cost.action}, bare aiohttp + HMAC",
                    f"{cost.bare_cpu_ms:.3f}",
                    f"{cost.bare_wall_ms:.3f}",
                ),
                _row(
                    f"{cost.action}, roombot facade (SDK)",
                    f"{cost.facade_cpu_ms:.3f}",
                    f"{cost.facade_wall_ms:.3f}",
                ),
                _row(
                    f"{cost.action}, facade/bare",
                    paired_times([cpu for cpu, _ in cost.facade_runs], [cpu for cpu, _ in cost.bare_runs]),
                    paired_times(
                        [wall for _, wall in cost.facade_runs], [wall for _, wall in cost.bare_runs]
                    ),
                ),
            ]
        return lines


def _row(label: str, cpu: str, wall: str) -> str:
    return f"  {label:42} {cpu:>14} {wall:>15}"


def signed_headers(access_key: str, method: str, url: str, body: bytes = b"") -> dict[str, str]:
    """The HMAC-SHA256 headers ACS requires, computed as the SDK computes them."""
    parts = urlsplit(url)
    path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
    date = formatdate(usegmt=True)
    body_hash = content_hash(body)
    signature = sign(access_key, method, path_and_query, date, parts.netloc, body_hash)
    authorization = f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
    return {"x-ms-date": date, "x-ms-content-sha256": body_hash, "Authorization": authorization}


async def _bare_get(session: aiohttp.ClientSession, access_key: str, url: str) -> Any:
    async with session.get(url, headers=signed_headers(access_key, "GET", url)) as response:
        if response.status != 200:
            raise BenchError(f"GET {url} answered {response.status}: {await response.text()}")
        return await response.json()


async def _joined_call(emulator: EmulatorProcess, facade: AcsFacade, callback_url: str) -> str:
    """A room whose call a user has started and the bot has joined; its call connection id."""
    credential = AzureKeyCredential(emulator.access_key)
    async with (
        CommunicationIdentityClient(emulator.url, credential, retry_total=0) as identity,
        RoomsClient(emulator.url, credential, retry_total=0) as rooms,
        aiohttp.ClientSession() as session,
    ):
        user = await identity.create_user()
        member = RoomParticipant(
            communication_identifier=CommunicationUserIdentifier(user.raw_id), role=ParticipantRole.PRESENTER
        )
        room = await rooms.create_room(participants=[member])
        join = f"{emulator.url}/emulator/rooms/{room.id}/participants/{quote(user.raw_id, safe='')}:join"
        async with session.post(join) as response:
            if response.status != 200:
                raise BenchError(f"joining the room answered {response.status}")
    call = await facade.connect_room(room.id, callback_url)
    async with asyncio.timeout(CONNECT_TIMEOUT):
        while True:
            if (await facade.get_call(call.call_connection_id)).state == "connected":
                break
            await asyncio.sleep(POLL_SECONDS)
    return call.call_connection_id


async def _cost(action: Callable[[], Awaitable[object]], count: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per action over ``count`` sequential actions."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        await action()
    return (time.process_time() - cpu) * 1000 / count, (time.perf_counter() - wall) * 1000 / count


async def _measure_action(
    name: str,
    facade_action: Callable[[], Awaitable[object]],
    bare_action: Callable[[], Awaitable[object]],
    actions: int,
    runs: int,
) -> ActionCost:
    for _ in range(WARM_UP):
        await facade_action()
        await bare_action()
    bare: list[tuple[float, float]] = []
    facade: list[tuple[float, float]] = []
    for run in range(runs):
        # Each side goes first in every other run, so that a drift of the machine's speed during
        # a run weighs on both alike.
        if run % 2:
            facade.append(await _cost(facade_action, actions))
            bare.append(await _cost(bare_action, actions))
        else:
            bare.append(await _cost(bare_action, actions))
            facade.append(await _cost(facade_action, actions))
    return ActionCost(
        action=name,
        bare_cpu_ms=median(cpu for cpu, _ in bare),
        bare_wall_ms=median(wall for _, wall in bare),
        facade_cpu_ms=median(cpu for cpu, _ in facade),
        facade_wall_ms=median(wall for _, wall in facade),
        bare_runs=tuple(bare),
        facade_runs=tuple(facade),
    )


def _settings(emulator: EmulatorProcess) -> Settings:
    from bot.testing.serving import IsolatedSettings

    return IsolatedSettings(
        acs_connection_string=f"endpoint={emulator.url}/;accesskey={emulator.access_key}",
        callback_base_url="http://127.0.0.1:9/",
    )


async def _client(emulator: EmulatorProcess, call_id: str, actions: int, runs: int) -> list[ActionCost]:
    facade = AcsFacade.from_settings(_settings(emulator))
    base = f"{emulator.url}/calling/callConnections/{call_id}"
    try:
        async with aiohttp.ClientSession() as session:
            return [
                await _measure_action(
                    "get_call",
                    lambda: facade.get_call(call_id),
                    lambda: _bare_get(session, emulator.access_key, f"{base}?api-version={API_VERSION}"),
                    actions,
                    runs,
                ),
                await _measure_action(
                    "list_participants",
                    lambda: facade.list_participants(call_id),
                    lambda: _bare_get(
                        session, emulator.access_key, f"{base}/participants?api-version={API_VERSION}"
                    ),
                    actions,
                    runs,
                ),
            ]
    finally:
        await facade.close()


def client_process(emulator: EmulatorProcess, call_id: str, actions: int, runs: int) -> list[ActionCost]:
    """The measuring client, in a process of its own (the entry point of the spawned child)."""
    return asyncio.run(_client(emulator, call_id, actions, runs))


async def measure(*, actions: int = 300, runs: int = 5) -> FacadeResult:
    """Median cost of ``get_call`` and ``list_participants`` through the facade and by hand."""
    if actions < 1 or runs < 1:
        raise ValueError("actions and runs must be at least 1")

    async def accept(request: web.Request) -> web.Response:
        return web.Response(status=204)

    # The bot's callbacks land here: the emulator needs somewhere to deliver CallConnected.
    sink = web.Application()
    sink.router.add_post("/api/callbacks", accept)
    async with emulator_process() as emulator, serve(sink) as sink_url:
        facade = AcsFacade.from_settings(_settings(emulator))
        try:
            call_id = await _joined_call(emulator, facade, f"{sink_url}/api/callbacks")
        finally:
            await facade.close()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            costs = await asyncio.get_running_loop().run_in_executor(
                pool, client_process, emulator, call_id, actions, runs
            )
    return FacadeResult(actions_per_run=actions, runs=runs, costs=costs)
