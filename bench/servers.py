"""The load process's side of a server under test: ``bench.target`` started as a child process,
reached over loopback, and asked between measurements for its CPU time and memory."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.common import EXIT_TIMEOUT, STARTUP_TIMEOUT, BenchError

# Polling a starting bot; not an expectation about speed.
POLL_SECONDS = 0.02


@dataclass(frozen=True)
class Usage:
    """CPU seconds the server process has used so far (all threads, user + system), and its RSS."""

    cpu: float
    rss: int


@dataclass
class Target:
    kind: str
    url: str
    control: str
    session: aiohttp.ClientSession
    process: asyncio.subprocess.Process

    async def kill(self) -> None:
        """SIGKILL, as in a crash or an OOM kill: no shutdown hook runs."""
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def _control(
        self, method: str, path: str, body: Any = None, *, limits: aiohttp.ClientTimeout | None = None
    ) -> Any:
        limits = limits or self.session.timeout
        async with self.session.request(method, self.control + path, json=body, timeout=limits) as reply:
            if reply.status != 200:
                raise BenchError(f"{self.kind}: {method} {path} answered {reply.status}")
            return await reply.json()

    async def usage(self) -> Usage:
        answer = await self._control("GET", "/cpu")
        return Usage(cpu=float(answer["cpu"]), rss=int(answer["rss"]))

    async def register(self, calls: Sequence[dict[str, str]]) -> None:
        await self._control("POST", "/register", list(calls))

    async def populate(self, first: int, count: int) -> None:
        await self._control("POST", f"/populate?first={first}&count={count}")

    async def connect(self, first: int, count: int) -> float:
        """Connect the bot to ``count`` rooms (each its first call) through its own connect path;
        the seconds it took, on the bot's clock."""
        answer = await self._control(
            "POST", f"/connect?first={first}&count={count}", limits=aiohttp.ClientTimeout(total=None)
        )
        return float(answer["seconds"])

    async def remember(self, count: int) -> None:
        """The bot's store made to remember ``count`` random event ids, as after busy days."""
        # Millions take minutes (a Redis SET each): no limit but the caller's.
        await self._control("POST", f"/remember?count={count}", limits=aiohttp.ClientTimeout(total=None))

    async def housekeep(self, steps: int, ahead_seconds: float) -> dict[str, float]:
        """``steps`` housekeeping steps as at ``ahead_seconds`` from now: how many rows went, the
        longest step and the event loop's longest stall meanwhile (ms)."""
        answer: dict[str, float] = await self._control(
            "POST", f"/housekeep?steps={steps}&ahead={ahead_seconds}"
        )
        return answer

    async def drain(self) -> None:
        await self._control("POST", "/drain")

    async def leading(self) -> bool:
        async with self.session.get(self.url + "/healthz") as reply:
            return reply.status == 200 and (await reply.json()).get("leading", True) is True

    async def wait_leading(self) -> None:
        """Until the bot drives calls (with Redis, once it holds the lease)."""
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while True:
                if await self.leading():
                    return
                await asyncio.sleep(POLL_SECONDS)


@asynccontextmanager
async def target(
    kind: str, config: dict[str, Any], session: aiohttp.ClientSession, *, lead: bool = True
) -> AsyncIterator[Target]:
    """``python -m bench.target kind config`` in a child process, until the block ends; a bot
    first leads (``lead=False``: a second replica, which does not)."""
    with tempfile.TemporaryFile() as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.target",
            kind,
            json.dumps(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
        )
        assert process.stdout is not None
        try:
            try:
                async with asyncio.timeout(STARTUP_TIMEOUT):
                    line = await process.stdout.readline()
                where = json.loads(line)
            except (TimeoutError, ValueError) as exc:
                errors.seek(0)
                tail = errors.read().decode(errors="replace")[-2000:]
                raise BenchError(f"the {kind} server did not start: {tail}") from exc
            found = Target(kind, where["url"], where["control"], session, process)
            if kind == "roombot" and lead:
                await found.wait_leading()
            yield found
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), EXIT_TIMEOUT)
                except TimeoutError:
                    # Its figures are taken; a server that hangs on the way out is killed (below)
                    # and reported, not a reason to lose the run.
                    errors.seek(0)
                    tail = errors.read().decode(errors="replace")[-2000:]
                    print(
                        f"bench: the {kind} server did not exit within {EXIT_TIMEOUT:g} s of SIGTERM; "
                        f"killed. Its last output:\n{tail}",
                        file=sys.stderr,
                    )
        finally:
            if process.returncode is None:
                with suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
