"""The consoles from the command line: ``roombot serve`` and ``roombot demo`` print where they are,
and ``roombot demo --keep-running`` leaves its call for a person to end."""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import aiohttp

from tests.e2e.test_serve_cli import roombot_serve
from tests.support.cli_process import CliProcess, clean_env, started


async def status_of(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, response.content_type


async def test_serve_prints_both_consoles_and_serves_them(tmp_path: Path) -> None:
    env = clean_env(ROOMBOT_STATE_URL="memory://")
    async with roombot_serve(tmp_path, "--port", "0", "--emulator-port", "0", env=env) as served:
        operator = served.value("operator console")
        emulator = served.value("emulator console")
        assert operator == f"{served.bot_url}/console"
        assert emulator.endswith("/emulator/console")
        async with aiohttp.ClientSession() as session:
            assert await status_of(session, operator) == (200, "text/html")
            assert await status_of(session, emulator) == (200, "text/html")
        assert await served.stop(signal.SIGTERM) == 0


async def test_demo_keep_running_leaves_the_call_to_the_operator(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bot.cli", "demo", "--keep-running"]
    async with started(CliProcess, command, env=clean_env(), cwd=tmp_path, stderr_apart=True) as demo:
        printed = "\n".join(demo.banner)
        console = re.search(r"operator console (\S+)/console  \(ops key (\S+)\)", printed)
        assert console, printed
        assert re.search(r"emulator console http://127\.0\.0\.1:\d+/emulator/console", printed), printed
        assert "end it there with End for everyone" in printed
        assert "operator ended the call" not in printed
        bot_url, ops_key = console[1], console[2]
        headers = {"Authorization": f"Bearer {ops_key}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(f"{bot_url}/ops/calls") as response:
                [call] = await response.json()
            assert call["state"] == "connected"
            # What the console's End for everyone button does.
            async with session.post(f"{bot_url}/ops/calls/{call['callConnectionId']}/end") as response:
                assert response.status == 202
        assert await demo.stop(signal.SIGINT) == 0
    assert demo.rest[-1] == "demo stopped."
