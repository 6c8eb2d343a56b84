"""``roombot emulator`` as a child process, for the tests that drive the real command."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.cli_process import CliProcess, started


def roombot_command() -> list[str]:
    """The installed console script next to this interpreter (`make setup` installs it)."""
    script = Path(sys.executable).with_name("roombot")
    assert script.exists(), f"{script} is missing: install the project (pip install -e .)"
    return [str(script)]


class EmulatorProcess(CliProcess):
    @property
    def connection_string(self) -> str:
        return self.value("connection string")

    @property
    def ca_file(self) -> str:
        return self.value("CA file")

    def endpoint_and_key(self) -> tuple[str, str]:
        """The parts a client is built from; the endpoint without the connection string's final
        slash, which the Identity client would sign as part of the host."""
        parts = dict(part.split("=", 1) for part in self.connection_string.split(";") if part)
        return parts["endpoint"].rstrip("/"), parts["accesskey"]


@asynccontextmanager
async def emulator_cli(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[EmulatorProcess]:
    """Start ``roombot emulator ARGS`` (``env``: variables added to this process's), wait for its
    banner, and kill it if the test did not stop it."""
    command = [*roombot_command(), "emulator", *args]
    async with started(EmulatorProcess, command, env={**os.environ, **(env or {})}) as running:
        yield running
