"""``roombot emulator`` as a child process, for the tests that drive the real command."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

# Guards against a hung child, not expectations about speed.
STARTUP_TIMEOUT = 60.0
EXIT_TIMEOUT = 30.0
READY_LINE = "Press Ctrl+C to stop."


def roombot_command() -> list[str]:
    """The installed console script next to this interpreter (`make setup` installs it)."""
    script = Path(sys.executable).with_name("roombot")
    assert script.exists(), f"{script} is missing: install the project (pip install -e .)"
    return [str(script)]


@dataclass
class EmulatorProcess:
    process: asyncio.subprocess.Process
    banner: list[str]
    rest: list[str] = field(default_factory=list)
    drain: asyncio.Task[None] | None = None

    def _field(self, label: str) -> str:
        for line in self.banner:
            match = re.match(rf"\s*{re.escape(label)}:\s+(\S+)", line)
            if match:
                return match[1]
        raise AssertionError(f"no '{label}' in the banner: {self.banner}")

    @property
    def connection_string(self) -> str:
        return self._field("connection string")

    @property
    def ca_file(self) -> str:
        return self._field("CA file")

    def endpoint_and_key(self) -> tuple[str, str]:
        """The parts a client is built from; the endpoint without the connection string's final
        slash, which the Identity client would sign as part of the host."""
        parts = dict(part.split("=", 1) for part in self.connection_string.split(";") if part)
        return parts["endpoint"].rstrip("/"), parts["accesskey"]

    async def stop(self, signum: signal.Signals = signal.SIGINT) -> int:
        self.process.send_signal(signum)
        code = await asyncio.wait_for(self.process.wait(), EXIT_TIMEOUT)
        if self.drain is not None:
            await self.drain
        return code


async def _drain(stream: asyncio.StreamReader, into: list[str]) -> None:
    # Keeps reading so the child never blocks on a full pipe.
    while line := await stream.readline():
        into.append(line.decode().rstrip("\n"))


@asynccontextmanager
async def emulator_cli(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[EmulatorProcess]:
    """Start ``roombot emulator ARGS``, wait for its banner, and kill it if the test did not stop it."""
    process = await asyncio.create_subprocess_exec(
        *roombot_command(),
        "emulator",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    banner: list[str] = []
    running: EmulatorProcess | None = None
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while True:
                raw = await process.stdout.readline()
                if not raw:
                    raise AssertionError(f"roombot emulator exited before it was ready: {banner}")
                banner.append(raw.decode().rstrip("\n"))
                if banner[-1] == READY_LINE:
                    break
        running = EmulatorProcess(process, banner)
        running.drain = asyncio.create_task(_drain(process.stdout, running.rest))
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if running is not None and running.drain is not None:
            await running.drain


async def run_to_completion(*command: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run a command to its end; its exit status, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
