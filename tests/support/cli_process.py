"""roombot's commands as child processes, run as a user runs them.

``started`` reads the banner up to its ready line, keeps reading the rest so that the child never
blocks on a full pipe, and kills the child if the test did not stop it; ``run_to_completion``
runs a command that is meant to end, ``clean_env`` gives it an environment without roombot's
settings.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

# Guards against a hung child, not expectations about speed.
STARTUP_TIMEOUT = 60.0
EXIT_TIMEOUT = 30.0
READY_LINE = "Press Ctrl+C to stop."


@dataclass
class CliProcess:
    """A running command: its banner, what it printed since (``rest``) and, when it is kept apart
    from stdout, its stderr."""

    process: asyncio.subprocess.Process
    banner: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)
    drains: list[asyncio.Task[None]] = field(default_factory=list)

    def value(self, label: str) -> str:
        """The value of the banner line ``label: value``."""
        for line in self.banner:
            match = re.match(rf"\s*{re.escape(label)}:\s+(\S+)", line)
            if match:
                return match[1]
        raise AssertionError(f"no '{label}' in the banner: {self.banner}")

    async def stop(self, signum: signal.Signals = signal.SIGINT) -> int:
        """Send ``signum``; the exit status, once all the output is read."""
        self.process.send_signal(signum)
        code = await asyncio.wait_for(self.process.wait(), EXIT_TIMEOUT)
        await asyncio.gather(*self.drains)
        return code


P = TypeVar("P", bound=CliProcess)


async def _drain(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode().rstrip("\n"))


@asynccontextmanager
async def started(
    make: Callable[[asyncio.subprocess.Process], P],
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stderr_apart: bool = False,
) -> AsyncIterator[P]:
    """Start ``command`` (``env``: its whole environment, None inherits this one) and wait for the
    ready line of its banner; ``stderr_apart`` keeps stderr out of the banner, in ``stderr``."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE if stderr_apart else asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    running = make(process)
    if process.stderr is not None:
        running.drains.append(asyncio.create_task(_drain(process.stderr, running.stderr)))
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while True:
                raw = await process.stdout.readline()
                if not raw:
                    raise AssertionError(
                        f"{' '.join(command)} exited before it was ready: {running.banner} {running.stderr}"
                    )
                running.banner.append(raw.decode().rstrip("\n"))
                if running.banner[-1] == READY_LINE:
                    break
        running.drains.append(asyncio.create_task(_drain(process.stdout, running.rest)))
        yield running
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        await asyncio.gather(*running.drains)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ROOMBOT_* setting, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ROOMBOT_")}
    return {**env, **extra}


async def run_to_completion(
    *command: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    within: float = STARTUP_TIMEOUT,
) -> tuple[int, str, str]:
    """Run a command to its end, for at most ``within`` seconds (``env``: its whole environment);
    its exit status, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(within):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
