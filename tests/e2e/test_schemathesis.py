"""schemathesis over `GET /openapi.json`, with both key sets, against `roombot serve` and a room
whose call the bot is in: no answer is a 5xx and no request the document calls valid is refused
(and every other default check of schemathesis passes: schema-violating requests refused,
answers as documented). Bounded: a few examples per operation and a fixed seed; the README's
figures come from the same command with `--max-examples 300`."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.communication.rooms import CommunicationUserIdentifier, ParticipantRole, RoomParticipant
from azure.communication.rooms.aio import RoomsClient
from azure.core.credentials import AzureKeyCredential

from emulator.config import DEV_ACCESS_KEY
from tests.e2e.test_serve_cli import roombot_serve
from tests.support.cli_process import clean_env, run_to_completion

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
BACKEND_KEY = "schemathesis-backend-key-0123"
OPS_KEY = "schemathesis-ops-key-0123456"
EVENTGRID_KEY = "schemathesis-eventgrid-key-01"
EXAMPLES = "8"
SEED = "20260101"


async def live_room(emulator_url: str, bot_url: str) -> str:
    """A room (Presenter, Consumer) whose Presenter is in the call, and the bot connected to it."""
    credential = AzureKeyCredential(DEV_ACCESS_KEY)
    async with (
        CommunicationIdentityClient(emulator_url, credential, retry_total=0) as identity,
        RoomsClient(emulator_url, credential, retry_total=0) as rooms,
        aiohttp.ClientSession() as http,
    ):
        presenter, consumer = await identity.create_user(), await identity.create_user()
        room = await rooms.create_room(
            pstn_dial_out_enabled=True,
            participants=[
                RoomParticipant(
                    communication_identifier=CommunicationUserIdentifier(presenter.raw_id),
                    role=ParticipantRole.PRESENTER,
                ),
                RoomParticipant(
                    communication_identifier=CommunicationUserIdentifier(consumer.raw_id),
                    role=ParticipantRole.CONSUMER,
                ),
            ],
        )
        join = f"{emulator_url}/emulator/rooms/{room.id}/participants/{quote(presenter.raw_id, safe='')}:join"
        async with http.post(join) as answer:
            assert answer.status == 200, await answer.text()
        connect = f"{bot_url}/api/rooms/{room.id}/connect"
        async with http.post(connect, headers={"Authorization": f"Bearer {BACKEND_KEY}"}) as answer:
            assert answer.status == 202, await answer.text()
        return str(room.id)


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis (test extra) is not installed")
@pytest.mark.parametrize(
    "caller_id", ["+14255550100", None], ids=["with-default-caller-id", "caller-id-required"]
)
async def test_schemathesis_finds_no_server_error_and_no_valid_request_refused(
    tmp_path: Path, caller_id: str | None
) -> None:
    settings = {
        "ROOMBOT_BACKEND_API_KEYS": BACKEND_KEY,
        "ROOMBOT_OPS_API_KEYS": OPS_KEY,
        "ROOMBOT_EVENTGRID_KEY": EVENTGRID_KEY,
        "ROOMBOT_STATE_URL": "memory://",
    }
    if caller_id is not None:
        settings["ROOMBOT_PSTN_CALLER_ID"] = caller_id
    async with roombot_serve(
        tmp_path, "--port", "0", "--emulator-port", "0", env=clean_env(**settings)
    ) as served:
        room_id = await live_room(served.value("emulator"), served.bot_url)
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            f'[auth.openapi.backendKey]\nbearer = "{BACKEND_KEY}"\n\n'
            f'[auth.openapi.opsKey]\nbearer = "{OPS_KEY}"\n\n'
            f'[parameters]\n"path.roomId" = "{room_id}"\n"query.key" = "{EVENTGRID_KEY}"\n'
        )
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
        }
        code, out, err = await run_to_completion(
            str(SCHEMATHESIS),
            "--no-color",
            f"--config-file={config}",
            "run",
            f"{served.bot_url}/openapi.json",
            f"--max-examples={EXAMPLES}",
            f"--seed={SEED}",
            env=env,
            cwd=tmp_path,
            within=600,
        )
        await served.stop()

    assert code == 0, out[-6000:] + err[-2000:]
    summary = out[out.index("SUMMARY") :]
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", summary)
    assert selected, summary
    assert len(set(selected.groups())) == 1, "every operation of the document was tested"
    assert " passed" in summary, summary
    assert "failure" not in summary, summary
