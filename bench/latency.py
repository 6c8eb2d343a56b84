"""DTMF event-to-action latency: from a ``RecognizeCompleted`` callback POST to the bot's next
request to ACS, with many menu calls at once, against a bare aiohttp reactor doing the same.

The server runs in its own process (``bench.target``) and talks to the fake ACS of this, the load
process (``bench.fake_acs``), which notes when each request arrives. The emulator is not used: it
would have to be told when the participant presses a key and would add its own scheduling to the
path, while the fake answers each request at once and sees the very moment the bot's request
lands. Both clocks are this process's ``time.perf_counter()``: the POST's start and the arrival.

For the bot (SQLite file, the default store), each of ``calls`` calls is registered as live, gets
its ``ParticipantsUpdated`` through ``/api/callbacks``, and has the ``interpreter-confirm`` menu
started for one participant through ``POST /ops/calls/{id}/menus``; the bot then asks ACS for a
DTMF recognize, whose operation context the fake notes. When every menu is waiting (and the fake
has heard nothing for ``QUIET_SECONDS``), each call gets one ``RecognizeCompleted`` ("1"), in a
shuffled order, open loop at ``PRESSES_PER_SECOND``: "concurrent menu calls" is how many sessions
wait at once, the rate is the same for every count. The bot's next request for that call (the
``play`` of "Connecting you now.") ends its latency. The bare reactor takes the same POSTs at the
same rate and sends one ``play`` request per event on a shared session. p50 and p99 are over the
calls of a run, medians over runs; every run starts both servers afresh, back to back, which
of them goes first alternating from run to run. The ratios are the median of each run's own
ratio, as in the other tables: the machine's drift between runs, which moves both sides of a run
alike, cancels out.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.common import STARTUP_TIMEOUT, BenchError, median, paired_times
from bench.fake_acs import OPS_KEY, FakeAcs, fake_acs
from bench.servers import Target, target
from bench.traffic import Call

MENU = "interpreter-confirm"
SETUP_CONCURRENCY = 16
POLL_SECONDS = 0.01
# Key presses arrive at this rate whatever the number of menus waiting, which sets the state the
# bot carries (sessions, calls, heap), not the load: both sides keep up with it.
PRESSES_PER_SECOND = 100.0
WARM_UP = 16
QUIET_SECONDS = 0.3


@dataclass(frozen=True)
class Percentiles:
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LatencyResult:
    runs: int
    rate: float
    # Concurrent menu calls → (bare reactor, roombot): medians over the runs.
    by_calls: dict[int, tuple[Percentiles, Percentiles]]
    # Concurrent menu calls → each run's (bare reactor, roombot), in the order of the runs.
    runs_by_calls: dict[int, list[tuple[Percentiles, Percentiles]]]

    def lines(self) -> list[str]:
        lines = [
            "DTMF event-to-action: RecognizeCompleted POST to the next request at ACS, one key press per "
            f"call at {self.rate:g}/s, server in its own process, median of {self.runs} run(s)",
            f"  {'':46} {'p50 ms':>8} {'p99 ms':>8}",
        ]
        for calls, (bare, bot) in self.by_calls.items():
            paired = self.runs_by_calls[calls]
            p50s = paired_times([run[1].p50_ms for run in paired], [run[0].p50_ms for run in paired])
            p99s = paired_times([run[1].p99_ms for run in paired], [run[0].p99_ms for run in paired])
            lines += [
                f"  {f'{calls:,} calls, bare aiohttp reactor':46} {bare.p50_ms:>8.1f} {bare.p99_ms:>8.1f}",
                f"  {f'{calls:,} calls, roombot menus (SQLite)':46} {bot.p50_ms:>8.1f} {bot.p99_ms:>8.1f}",
                f"  {f'{calls:,} calls, roombot/bare':46} {p50s:>8} {p99s:>8}",
            ]
        return lines


def percentiles(samples: Sequence[float]) -> Percentiles:
    if len(samples) == 1:
        return Percentiles(samples[0] * 1000, samples[0] * 1000)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return Percentiles(cuts[49] * 1000, cuts[98] * 1000)


async def _post(server: Target, acs: FakeAcs, events: list[dict[str, object]]) -> None:
    headers = {"Authorization": f"Bearer {acs.token()}", "Content-Type": "application/json"}
    async with server.session.post(
        server.url + "/api/callbacks", data=json.dumps(events), headers=headers
    ) as reply:
        if reply.status != 200:
            raise BenchError(f"{server.kind}: POST /api/callbacks answered {reply.status}")


async def _menus_waiting(server: Target, acs: FakeAcs, calls: Sequence[Call]) -> dict[str, str]:
    """Every call live with a menu waiting for a key; call id → the recognize's context."""
    await server.register([call.registration() for call in calls])
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def prepare(call: Call) -> None:
        acs.participants[call.id] = call.participants
        async with limit:
            await _post(server, acs, [call.event("CallConnected", {}), call.participants_updated()])
        await server.drain()
        async with limit:
            url = f"{server.url}/ops/calls/{call.id}/menus"
            body = {"participant": call.participants[0], "menu": MENU}
            headers = {"Authorization": f"Bearer {OPS_KEY}"}
            async with server.session.post(url, json=body, headers=headers) as reply:
                if reply.status != 202:
                    raise BenchError(f"starting a menu answered {reply.status}: {await reply.text()}")

    await asyncio.gather(*(prepare(call) for call in calls))
    contexts: dict[str, str] = {}
    async with asyncio.timeout(STARTUP_TIMEOUT):
        while len(contexts) < len(calls):
            for call in calls:
                for arrival in acs.arrivals.get(call.id, []):
                    if arrival.action == "recognize" and arrival.operation_context:
                        contexts[call.id] = arrival.operation_context
            await asyncio.sleep(POLL_SECONDS)
    await server.drain()
    await _quiet(acs)
    return contexts


async def _quiet(acs: FakeAcs) -> None:
    """Until no request has reached the fake ACS for a while: what set-up made the bot send is
    sent, and its next request can only answer the burst."""
    while True:
        last = max((arrivals[-1].at for arrivals in acs.arrivals.values() if arrivals), default=0.0)
        if time.perf_counter() - last > QUIET_SECONDS:
            return
        await asyncio.sleep(QUIET_SECONDS / 4)


async def _presses(
    server: Target, acs: FakeAcs, calls: Sequence[Call], contexts: dict[str, str], rate: float
) -> list[float]:
    """Seconds from each call's RecognizeCompleted POST to its next request at the fake ACS; the
    POSTs start at ``rate`` per second, open loop (one does not wait for another), calls shuffled."""
    order = list(calls)
    random.Random(len(calls)).shuffle(order)
    bodies = {
        call.id: json.dumps([call.recognized(contexts.get(call.id, "menus:x:1"), ["one"])]) for call in calls
    }
    tokens = {call.id: acs.token() for call in calls}
    seen = {call.id: len(acs.arrivals.get(call.id, [])) for call in calls}
    sent: dict[str, float] = {}

    async def fire(call: Call) -> None:
        headers = {"Authorization": f"Bearer {tokens[call.id]}", "Content-Type": "application/json"}
        sent[call.id] = time.perf_counter()
        async with server.session.post(
            server.url + "/api/callbacks", data=bodies[call.id], headers=headers
        ) as reply:
            if reply.status != 200:
                raise BenchError(f"{server.kind}: POST /api/callbacks answered {reply.status}")

    started = time.perf_counter()
    posts = []
    for index, call in enumerate(order):
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        posts.append(asyncio.create_task(fire(call)))
    await asyncio.gather(*posts)
    async with asyncio.timeout(STARTUP_TIMEOUT):
        while True:
            if all(len(acs.arrivals.get(call.id, [])) > seen[call.id] for call in calls):
                break
            await asyncio.sleep(POLL_SECONDS)
    return [acs.arrivals[call.id][seen[call.id]].at - sent[call.id] for call in calls]


async def _bare_run(acs: FakeAcs, session: aiohttp.ClientSession, count: int, rate: float) -> Percentiles:
    calls = [Call(index) for index in range(count)]
    async with target("reactor", acs.bot_settings(), session) as reactor:
        # Warm-up: the reactor opens its connections to ACS, the client its own.
        await _presses(reactor, acs, [Call(index) for index in range(WARM_UP)], {}, rate=1e6)
        return percentiles(await _presses(reactor, acs, calls, {}, rate))


async def _bot_run(
    acs: FakeAcs, session: aiohttp.ClientSession, count: int, directory: Path, rate: float
) -> Percentiles:
    calls = [Call(index) for index in range(count)]
    state = f"sqlite:///{directory / f'latency-{count}-{time.monotonic_ns()}.db'}"
    async with target("roombot", acs.bot_settings(state_url=state), session) as bot:
        contexts = await _menus_waiting(bot, acs, calls)
        return percentiles(await _presses(bot, acs, calls, contexts, rate))


async def _one_run(
    acs: FakeAcs, count: int, directory: Path, rate: float, *, bot_first: bool
) -> tuple[Percentiles, Percentiles]:
    """One run's (bare reactor, roombot), back to back; ``bot_first``: the bot goes first."""
    async with aiohttp.ClientSession() as session:
        if bot_first:
            bot = await _bot_run(acs, session, count, directory, rate)
            return await _bare_run(acs, session, count, rate), bot
        bare = await _bare_run(acs, session, count, rate)
        return bare, await _bot_run(acs, session, count, directory, rate)


async def measure(
    *, counts: Sequence[int] = (100, 1000), runs: int = 3, rate: float = PRESSES_PER_SECOND
) -> LatencyResult:
    """Median p50 and p99 of both sides with each count of menu calls waiting at once."""
    if runs < 1 or rate <= 0 or any(count < 1 for count in counts):
        raise ValueError("runs, rate and counts must be positive")
    by_calls: dict[int, tuple[Percentiles, Percentiles]] = {}
    runs_by_calls: dict[int, list[tuple[Percentiles, Percentiles]]] = {}
    async with fake_acs() as acs:
        with tempfile.TemporaryDirectory(prefix="roombot-bench-") as directory:
            for count in counts:
                # Each side goes first in every other run, so that neither always meets the
                # machine fresh (or tired).
                results = [
                    await _one_run(acs, count, Path(directory), rate, bot_first=run % 2 == 1)
                    for run in range(runs)
                ]
                bare = Percentiles(median(r[0].p50_ms for r in results), median(r[0].p99_ms for r in results))
                bot = Percentiles(median(r[1].p50_ms for r in results), median(r[1].p99_ms for r in results))
                by_calls[count] = (bare, bot)
                runs_by_calls[count] = results
    return LatencyResult(runs, rate, by_calls, runs_by_calls)
