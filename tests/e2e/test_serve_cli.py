"""``roombot serve`` as a user runs it: a child process on free ports, driven over HTTP."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.communication.rooms import CommunicationUserIdentifier, ParticipantRole, RoomParticipant
from azure.communication.rooms.aio import RoomsClient
from azure.core.credentials import AzureKeyCredential

from bot.cli.serve import display_url
from emulator.config import DEV_ACCESS_KEY, DEV_COGNITIVE_SERVICES_ENDPOINT
from emulator.server import RunningEmulator
from tests.support.cli_process import CliProcess, clean_env, run_to_completion, started

WAIT_TIMEOUT = 20.0
ENV_KEY = "serve-test-backend-key-0123456789"
OPS_ENV_KEY = "serve-test-operator-key-0123456789"


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", "serve", *args]


class ServeProcess(CliProcess):
    @property
    def bot_url(self) -> str:
        """The URL to reach the bot from this machine."""
        match = re.fullmatch(r"roombot listening on (\S+)(?: \(from this machine: (\S+)\))?", self.banner[0])
        assert match, self.banner
        return match[2] or match[1]

    def try_it_block(self) -> str:
        start = next(i for i, line in enumerate(self.banner) if line.startswith("Try it"))
        return "\n".join(self.banner[start + 1 : -1]) + "\n"


@asynccontextmanager
async def roombot_serve(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> AsyncIterator[ServeProcess]:
    """Start ``roombot serve ARGS`` in ``cwd``, wait for its banner; kill it if the test did not stop it."""
    command = serve_command(*args)
    environment = env if env is not None else clean_env()
    async with started(ServeProcess, command, env=environment, cwd=cwd, stderr_apart=True) as running:
        yield running


async def run_serve(cwd: Path, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    return await run_to_completion(*serve_command(*args), env=env, cwd=cwd)


async def get_json(session: aiohttp.ClientSession, url: str, key: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with session.get(url, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def wait_for_connected(
    session: aiohttp.ClientSession, bot_url: str, ops_key: str, room_id: str, member: str
) -> Any:
    """The room's call once connected with ``member`` listed (CallConnected and the
    ParticipantsUpdated that lists who is in are separate events)."""
    async with asyncio.timeout(WAIT_TIMEOUT):
        while True:
            status, calls = await get_json(session, f"{bot_url}/ops/calls", ops_key)
            assert status == 200, calls
            for call in calls:
                listed = {p["rawId"] for p in call["participants"]}
                if call["roomId"] == room_id and call["state"] == "connected" and member in listed:
                    return call
            await asyncio.sleep(0.05)


async def test_serve_without_configuration_runs_on_the_embedded_emulator(tmp_path: Path) -> None:
    async with roombot_serve(tmp_path, "--port", "0", "--emulator-port", "0") as served:
        emulator_url = served.value("emulator")
        assert served.value("connection string") == f"endpoint={emulator_url}/;accesskey={DEV_ACCESS_KEY}"
        assert served.value("callbacks") == f"{served.bot_url}/api/callbacks"
        assert served.value("state") == "sqlite:///roombot.db"
        backend_key = served.value("backend API key")
        ops_key = served.value("ops API key")
        assert len(backend_key) >= 16
        assert len(ops_key) >= 16
        assert backend_key != ops_key

        credential = AzureKeyCredential(DEV_ACCESS_KEY)
        async with (
            aiohttp.ClientSession() as session,
            CommunicationIdentityClient(emulator_url, credential, retry_total=0) as identity,
            RoomsClient(emulator_url, credential, retry_total=0) as rooms,
        ):
            status, health = await get_json(session, f"{served.bot_url}/healthz")
            assert (status, health["status"], health["leading"]) == (200, "ok", True)
            assert (await get_json(session, f"{served.bot_url}/readyz"))[0] == 200
            user = await identity.create_user()
            member = RoomParticipant(
                communication_identifier=CommunicationUserIdentifier(user.raw_id),
                role=ParticipantRole.PRESENTER,
            )
            room = await rooms.create_room(participants=[member])
            join = f"{emulator_url}/emulator/rooms/{room.id}/participants/{quote(user.raw_id, safe='')}:join"
            async with session.post(join) as response:
                assert response.status == 200
            connect = f"{served.bot_url}/api/rooms/{room.id}/connect"
            async with session.post(connect, headers={"Authorization": f"Bearer {ops_key}"}) as response:
                assert response.status in (401, 403), "an ops key must not open a backend route"
            async with session.post(connect, headers={"Authorization": f"Bearer {backend_key}"}) as response:
                assert response.status == 202, await response.text()
            call = await wait_for_connected(session, served.bot_url, ops_key, room.id, user.raw_id)
            assert call["state"] == "connected"

        assert await served.stop(signal.SIGINT) == 0
        assert served.rest[-1] == "roombot stopped."
    assert (tmp_path / "roombot.db").is_file()


@pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("curl") is None, reason="needs bash and curl"
)
@pytest.mark.parametrize("keys", ["generated", "chosen"])
async def test_the_printed_commands_work_when_pasted_into_a_shell(tmp_path: Path, keys: str) -> None:
    # Keys of the user's own are not printed: the block pastes once they are exported.
    env = (
        clean_env(ROOMBOT_BACKEND_API_KEYS=ENV_KEY, ROOMBOT_OPS_API_KEYS=OPS_ENV_KEY)
        if keys == "chosen"
        else None
    )
    exported = f"export BACKEND_KEY={ENV_KEY} OPS_KEY={OPS_ENV_KEY}\n" if keys == "chosen" else ""
    async with roombot_serve(tmp_path, "--port", "0", "--emulator-port", "0", env=env) as served:
        script = tmp_path / "try.sh"
        script.write_text("set -eu\n" + exported + served.try_it_block())
        code, out, err = await run_to_completion("bash", str(script), cwd=tmp_path)
        assert code == 0, err
        # Three joins, connect, the live-call list, end: one answer each, status line first.
        statuses = re.findall(r"^HTTP/1\.1 (\d{3})", out, re.M)
        assert statuses == ["200", "200", "200", "202", "200", "202"], out
        bodies = [line for line in out.splitlines() if line.startswith(("{", "["))]
        assert len(bodies) == 6, out
        assert '"serverCallId"' in bodies[0]
        assert '"status": "connected"' in bodies[3]
        assert bodies[4].count('"rawId"') == 3, "the bot sees the doctor, the patient and the observer"
        assert '"status": "ending"' in bodies[5]
        assert await served.stop(signal.SIGTERM) == 0


def external_env(emulator: RunningEmulator, **extra: str) -> dict[str, str]:
    """Settings of a bot wired to ``emulator`` as it would be to a real ACS resource."""
    return clean_env(
        ROOMBOT_ACS_CONNECTION_STRING=emulator.connection_string,
        ROOMBOT_ACS_RESOURCE_ID=emulator.config.resource_id,
        ROOMBOT_ACS_OPENID_URL=f"{emulator.url}/calling/.well-known/acsopenidconfiguration",
        ROOMBOT_CALLBACK_BASE_URL="https://bot.example.com",
        ROOMBOT_BACKEND_API_KEYS=ENV_KEY,
        ROOMBOT_OPS_API_KEYS=OPS_ENV_KEY,
        ROOMBOT_STATE_URL="memory://",
        **extra,
    )


async def test_with_a_connection_string_no_emulator_is_started(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    env = external_env(emulator, ROOMBOT_COGNITIVE_SERVICES_ENDPOINT=DEV_COGNITIVE_SERVICES_ENDPOINT)
    async with roombot_serve(tmp_path, "--port", "0", env=env) as served:
        assert not any(line.lstrip().startswith("emulator:") for line in served.banner)
        assert served.value("ACS endpoint") == emulator.url
        assert served.value("callbacks") == "https://bot.example.com/api/callbacks"
        # Keys the user chose are theirs already: shown masked, never in full.
        printed = "\n".join(served.banner)
        assert ENV_KEY not in printed
        assert OPS_ENV_KEY not in printed
        async with aiohttp.ClientSession() as session:
            # Ready means the configured ACS (here the test's emulator) answers signed requests.
            status, body = await get_json(session, f"{served.bot_url}/readyz")
            assert (status, body) == (200, {"status": "ready"})
            assert (await get_json(session, f"{served.bot_url}/ops/calls", OPS_ENV_KEY)) == (200, [])
        assert await served.stop(signal.SIGTERM) == 0
    assert not (tmp_path / "roombot.db").exists()


@pytest.mark.parametrize(
    ("env", "field_name"),
    [
        ({"ROOMBOT_PSTN_CALLER_ID": "123"}, "ROOMBOT_PSTN_CALLER_ID"),
        ({"ROOMBOT_STATE_URL": "postgres://db"}, "ROOMBOT_STATE_URL"),
        ({"ROOMBOT_STATEURL": "x"}, "did you mean ROOMBOT_STATE_URL?"),
        ({"ROOMBOT_STATE_URL": "redis://127.0.0.1:6379/abc"}, "ROOMBOT_STATE_URL"),
        ({"ROOMBOT_AUTO_JOIN": "true"}, "ROOMBOT_EVENTGRID_KEY"),
        ({"ROOMBOT_AUTO_JOIN": "true", "ROOMBOT_EVENTGRID_KEY": ""}, "ROOMBOT_EVENTGRID_KEY"),
        ({"ROOMBOT_ACS_RESOURCE_ID": "my-resource"}, "ROOMBOT_ACS_RESOURCE_ID"),
        (
            {
                "ROOMBOT_ACS_CONNECTION_STRING": f"endpoint=https://x.communication.azure.com/;accesskey={DEV_ACCESS_KEY}"
            },
            "ROOMBOT_CALLBACK_BASE_URL",
        ),
        (
            {
                "ROOMBOT_ACS_CONNECTION_STRING": f"endpoint=https://x.communication.azure.com/;accesskey={DEV_ACCESS_KEY}",
                "ROOMBOT_CALLBACK_BASE_URL": "https://bot.example.com",
            },
            "ROOMBOT_ACS_RESOURCE_ID",
        ),
    ],
)
async def test_an_invalid_setting_stops_start_up_with_one_line(
    tmp_path: Path, env: dict[str, str], field_name: str
) -> None:
    code, out, err = await run_serve(tmp_path, "--port", "0", "--emulator-port", "0", env=clean_env(**env))
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("roombot serve: error: invalid settings: ")
    assert field_name in err
    assert DEV_ACCESS_KEY not in err, "a connection string's key must never be echoed"


async def test_text_prompts_against_acs_without_ai_services_stop_start_up(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    code, out, err = await run_serve(tmp_path, "--port", "0", env=external_env(emulator))
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(
        "roombot serve: error: invalid settings: ROOMBOT_COGNITIVE_SERVICES_ENDPOINT is not set"
    )
    assert "interpreter-confirm" in err
    assert "end_call" in err


async def test_a_custom_menu_file_keeps_the_packaged_confirmation_menu(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    menus = tmp_path / "menus.yaml"
    menus.write_text("menus:\n  main:\n    prompt: Hi\n    options: {'1': {confirm: true}}\n")
    env = external_env(
        emulator,
        ROOMBOT_COGNITIVE_SERVICES_ENDPOINT=DEV_COGNITIVE_SERVICES_ENDPOINT,
        ROOMBOT_MENUS_FILE=str(menus),
    )
    async with roombot_serve(tmp_path, "--port", "0", env=env) as served:
        assert await served.stop(signal.SIGTERM) == 0


async def test_a_dial_out_confirmation_menu_that_no_file_defines_stops_start_up(tmp_path: Path) -> None:
    env = clean_env(ROOMBOT_HANDLERS='{"dialout": {"confirm_menu": "nope"}}')
    code, out, err = await run_serve(tmp_path, "--port", "0", "--emulator-port", "0", env=env)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1, err
    assert "confirm_menu: menu 'nope' does not exist (menus: interpreter-confirm)" in err


async def test_a_non_loopback_host_without_a_connection_string_is_refused(tmp_path: Path) -> None:
    code, out, err = await run_serve(tmp_path, "--host", "0.0.0.0", "--port", "0", env=clean_env())  # noqa: S104
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert "ROOMBOT_ACS_CONNECTION_STRING" in err
    assert "--emulator" in err


def outward_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routable in form, never answered
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


async def reachable(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def test_with_emulator_asked_for_the_bot_serves_every_interface_and_the_emulator_loopback_only(
    tmp_path: Path,
) -> None:
    args = ("--host", "0.0.0.0", "--emulator", "--port", "0", "--emulator-port", "0")  # noqa: S104
    async with roombot_serve(tmp_path, *args) as served:
        bot_port = int(served.bot_url.rsplit(":", 1)[1])
        assert (
            served.banner[0]
            == f"roombot listening on http://0.0.0.0:{bot_port} (from this machine: {served.bot_url})"
        )
        emulator_url = served.value("emulator")
        assert emulator_url.startswith("http://127.0.0.1:")
        emulator_port = int(emulator_url.rsplit(":", 1)[1])
        address = outward_address()
        if address is None:
            pytest.skip("this machine has no non-loopback address to check the emulator is not reachable on")
        assert await reachable(address, bot_port)
        assert not await reachable(address, emulator_port)
        assert await served.stop(signal.SIGTERM) == 0


async def test_version(tmp_path: Path) -> None:
    code, out, err = await run_to_completion(sys.executable, "-m", "bot.cli", "--version", cwd=tmp_path)
    assert (code, err) == (0, "")
    assert re.fullmatch(r"roombot \d+\.\d+\.\d+\S*\n", out), out


async def test_an_invalid_handler_configuration_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = clean_env(ROOMBOT_HANDLERS='{"no-such-handler": {}}')
    code, out, err = await run_serve(tmp_path, "--port", "0", "--emulator-port", "0", env=env)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("roombot serve: error: cannot load the handlers: ")
    assert "no-such-handler" in err


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("rediss://bot:hunter2@cache.example.com:6380/1", "rediss://bot:***@cache.example.com:6380/1"),
        ("sqlite:///roombot.db", "sqlite:///roombot.db"),
        ("memory://", "memory://"),
    ],
)
def test_the_banner_hides_a_state_url_password(url: str, shown: str) -> None:
    assert display_url(url) == shown


async def test_a_busy_port_is_reported(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        code, out, err = await run_serve(tmp_path, "--port", port, "--emulator-port", "0", env=clean_env())
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"roombot serve: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


async def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = await run_serve(tmp_path, "--emulator-port", "70000", env=clean_env())
    assert code == 2
    assert err.splitlines() == ["roombot serve: error: --emulator-port must be between 0 and 65535"]
