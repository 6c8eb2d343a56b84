"""What the benchmarks share: the machine line, medians, a server on a free port, and an emulator
in its own process. A bot to measure comes from ``bot.testing``, as in the tests."""

from __future__ import annotations

import asyncio
import os
import platform
import re
import signal
import statistics
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from aiohttp import web

from bot.embedded import bind, socket_url

HOST = "127.0.0.1"
# Guards against a hung child process, not expectations about speed.
STARTUP_TIMEOUT = 60.0
EXIT_TIMEOUT = 30.0


class BenchError(Exception):
    """A benchmark could not measure what it meant to (an unexpected answer, a dead child)."""


def machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def times(numerator: float, denominator: float) -> str:
    """A ratio for humans: ``6.2x``."""
    return f"{numerator / denominator:.1f}x" if denominator > 0 else "n/a"


def paired_times(own: Sequence[float], base: Sequence[float]) -> str:
    """The median of each run's ratio, as `times` prints a ratio: the two sides of a run ran
    seconds apart, so the machine's drift between runs, which moves both alike, cancels out."""
    if not base or min(base) <= 0:
        return "n/a"
    return f"{median(mine / theirs for mine, theirs in zip(own, base, strict=True)):.1f}x"


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        sock = bind(HOST, 0)
        await web.SockSite(runner, sock).start()
        yield socket_url(HOST, sock)
    finally:
        await runner.cleanup()


@dataclass(frozen=True)
class EmulatorProcess:
    url: str
    access_key: str


@asynccontextmanager
async def emulator_process(time_scale: float = 0.05) -> AsyncIterator[EmulatorProcess]:
    """``roombot emulator`` in a child process, so that its CPU time is not the benchmark's."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "emulator",
        "--port",
        "0",
        "--time-scale",
        str(time_scale),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        connection_string = await _read_connection_string(process.stdout)
        match = re.fullmatch(r"endpoint=(?P<url>[^;]+?)/?;accesskey=(?P<key>\S+)", connection_string)
        if match is None:
            raise BenchError(f"unexpected connection string: {connection_string!r}")
        drain = asyncio.create_task(_drain(process.stdout))
        yield EmulatorProcess(url=match["url"], access_key=match["key"])
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), EXIT_TIMEOUT)
        await drain
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def _read_connection_string(stdout: asyncio.StreamReader) -> str:
    async with asyncio.timeout(STARTUP_TIMEOUT):
        while raw := await stdout.readline():
            label, _, value = raw.decode().strip().partition(":")
            if label == "connection string":
                return value.strip()
    raise BenchError("the emulator process exited before printing its connection string")


async def _drain(stdout: asyncio.StreamReader) -> None:
    # Keeps reading so that the child never blocks on a full pipe.
    while await stdout.readline():
        pass
