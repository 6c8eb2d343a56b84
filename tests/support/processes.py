"""An emulator and bots as separate processes, killed for real: the ground of the chaos tests.

`ProcessBed` starts ``roombot emulator`` once and any number of ``roombot serve`` processes wired
to it by ``ROOMBOT_ACS_CONNECTION_STRING`` (the way a deployment reaches real ACS), each on a port
chosen up front so that a restarted bot keeps its callback URL. ``kill`` is ``SIGKILL``: no
shutdown hook runs, as in a crash or an OOM kill.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.communication.rooms import CommunicationUserIdentifier, RoomParticipant
from azure.communication.rooms.aio import RoomsClient
from azure.core.credentials import AzureKeyCredential

from emulator.config import DEV_ACCESS_KEY, DEV_COGNITIVE_SERVICES_ENDPOINT, DEV_RESOURCE_ID
from tests.support.cli_process import CliProcess, clean_env, started

BACKEND_KEY = "chaos-backend-key-0123456789abcdef"
OPS_KEY = "chaos-ops-key-0123456789abcdef-ops"
TIME_SCALE = 0.2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def roombot() -> str:
    script = Path(sys.executable).with_name("roombot")
    assert script.exists(), f"{script} is missing: install the project (pip install -e .)"
    return str(script)


class Reachable(Protocol):
    """A bot process, or a load balancer in front of several."""

    @property
    def url(self) -> str: ...


@dataclass
class BotProcess:
    """One ``roombot serve`` process; `start` again after `kill` to restart it on the same port."""

    port: int
    env: dict[str, str]
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    running: CliProcess | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        assert self.running is None, "already running"
        command = [roombot(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.running = await self.stack.enter_async_context(started(CliProcess, command, env=self.env))
        self.starts += 1

    async def kill(self) -> None:
        """SIGKILL, and wait for the process to be gone."""
        assert self.running is not None, "not running"
        self.running.process.send_signal(signal.SIGKILL)
        await self.running.process.wait()
        self.running = None

    async def stop(self) -> None:
        if self.running is not None:
            with suppress(ProcessLookupError):
                await self.running.stop(signal.SIGTERM)
            self.running = None
        await self.stack.aclose()


@dataclass
class ProcessBed:
    emulator_url: str
    http: aiohttp.ClientSession
    directory: Path
    bots: list[BotProcess] = field(default_factory=list)

    def _credential(self) -> AzureKeyCredential:
        return AzureKeyCredential(DEV_ACCESS_KEY)

    def bot(self, *, state_url: str, extra: Mapping[str, str] | None = None) -> BotProcess:
        """A bot process (not started yet) on its own port, on the given state store."""
        port = free_port()
        endpoint = self.emulator_url
        settings = {
            "ROOMBOT_ACS_CONNECTION_STRING": f"endpoint={endpoint}/;accesskey={DEV_ACCESS_KEY}",
            "ROOMBOT_CALLBACK_BASE_URL": f"http://127.0.0.1:{port}",
            "ROOMBOT_REPLICA_URL": f"http://127.0.0.1:{port}",
            "ROOMBOT_ACS_RESOURCE_ID": DEV_RESOURCE_ID,
            "ROOMBOT_ACS_OPENID_URL": f"{endpoint}/calling/.well-known/acsopenidconfiguration",
            "ROOMBOT_STATE_URL": state_url,
            "ROOMBOT_BACKEND_API_KEYS": BACKEND_KEY,
            "ROOMBOT_OPS_API_KEYS": OPS_KEY,
            "ROOMBOT_PSTN_CALLER_ID": "+14255550100",
            "ROOMBOT_COGNITIVE_SERVICES_ENDPOINT": DEV_COGNITIVE_SERVICES_ENDPOINT,
        }
        env = clean_env(**{**settings, **dict(extra or {})})
        bot = BotProcess(port=port, env=env)
        self.bots.append(bot)
        return bot

    async def users(self, count: int) -> list[str]:
        async with CommunicationIdentityClient(self.emulator_url, self._credential()) as identity:
            return [(await identity.create_user()).raw_id for _ in range(count)]

    async def room(self, roles: list[str]) -> tuple[str, list[str]]:
        """A PSTN-enabled room with one new user per role; its id and the users."""
        members = await self.users(len(roles))
        participants = [
            RoomParticipant(communication_identifier=CommunicationUserIdentifier(raw_id), role=role)
            for raw_id, role in zip(members, roles, strict=True)
        ]
        async with RoomsClient(self.emulator_url, self._credential()) as rooms:
            room = await rooms.create_room(pstn_dial_out_enabled=True, participants=participants)
        return str(room.id), members

    async def emulator(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, self.emulator_url + path, json=body) as reply:
            assert reply.status < 300, f"{method} {path}: {reply.status} {await reply.text()}"
            return await reply.json() if reply.content_type == "application/json" else None

    async def join(self, room_id: str, raw_id: str) -> None:
        await self.emulator("POST", f"/emulator/rooms/{room_id}/participants/{quote(raw_id, safe='')}:join")

    async def phone(self, number: str, behaviour: Mapping[str, Any]) -> None:
        await self.emulator("PUT", f"/emulator/phones/{number}", dict(behaviour))

    async def call_api(
        self,
        bot: Reachable,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str = BACKEND_KEY,
        **headers: str,
    ) -> tuple[int, Any]:
        """One request to a bot; (status, JSON body or None). Connection errors raise."""
        request_headers = {"Authorization": f"Bearer {key}", **headers}
        async with self.http.request(method, bot.url + path, json=body, headers=request_headers) as reply:
            payload = await reply.json(content_type=None) if await reply.read() else None
            return reply.status, payload


@asynccontextmanager
async def process_bed(directory: Path) -> AsyncIterator[ProcessBed]:
    """The emulator as a process of its own, and an HTTP session; bots are added with `bot()`."""
    command = [roombot(), "emulator", "--port", str(free_port()), "--time-scale", str(TIME_SCALE)]
    async with started(CliProcess, command, env=clean_env()) as emulator, aiohttp.ClientSession() as http:
        url = emulator.value("connection string").split(";")[0].removeprefix("endpoint=").rstrip("/")
        bed = ProcessBed(emulator_url=url, http=http, directory=directory)
        try:
            yield bed
        finally:
            await asyncio.gather(*(bot.stop() for bot in bed.bots), return_exceptions=True)
