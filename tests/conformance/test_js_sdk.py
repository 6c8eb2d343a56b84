"""The JavaScript SDKs from npm (``tests/js``) against the emulator, run when Node.js is there.

``tests/js/flow.mjs`` is an app written for real ACS: it creates users and a room, connects,
adds a phone, plays, recognizes, sends DTMF, records and hangs up, parsing every callback with
``parseCallAutomationEvent`` (which reads only a POST's first event). Over plain http the SDK
sends only with ``allowInsecureConnection: true``; over ``--tls`` it trusts the emulator's CA
through ``NODE_EXTRA_CA_CERTS``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from emulator.config import EmulatorConfig
from emulator.server import RunningEmulator, start_emulator
from emulator.tls import ensure_tls_files
from tests.conformance.call_helpers import settle

JS_DIR = Path(__file__).resolve().parents[1] / "js"
NODE = shutil.which("node")
FLOW = [
    "CallConnected",
    "ParticipantsUpdated",
    "AddParticipantSucceeded",
    "ParticipantsUpdated",
    "PlayStarted",
    "PlayCompleted",
    "RecognizeCompleted",
    "SendDtmfTonesCompleted",
    "RecordingStateChanged",
    "RecordingStateChanged",
    "CallDisconnected",
]
# Real seconds for the whole flow on a loaded machine; the emulator runs 50x faster than life.
FLOW_TIMEOUT = 90.0

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed: the JavaScript SDK tests need node"),
    pytest.mark.skipif(
        not (JS_DIR / "node_modules").is_dir(),
        reason="tests/js/node_modules is missing: `make test` installs it (npm ci --prefix tests/js)",
    ),
]


async def run_flow(emulator: RunningEmulator, **env: str) -> tuple[int, dict[str, Any]]:
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE,
        "flow.mjs",
        cwd=JS_DIR,
        env={
            **os.environ,
            "EMULATOR_URL": emulator.url,
            "EMULATOR_KEY": emulator.config.access_key,
            "PHONE": "+14255550177",
            "CALLER_ID": "+14255550100",
            **env,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(FLOW_TIMEOUT):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    lines = out.decode().strip().splitlines()
    assert lines, err.decode()
    result: dict[str, Any] = json.loads(lines[-1])
    await settle(emulator)
    return process.returncode or 0, result


def assert_flow(code: int, result: dict[str, Any]) -> None:
    assert code == 0, result.get("error")
    received = result["received"]
    assert [r["kind"] for r in received] == FLOW
    # One event per POST: parseCallAutomationEvent lost nothing.
    assert {r["length"] for r in received} == {1}
    assert {r["path"] for r in received if r["kind"] == "RecordingStateChanged"} == {"/recording"}
    assert result["roster"] == ["Presenter", "Attendee"]
    assert result["serverCallId"]
    assert result["recognizedTones"] == ["five"]
    assert (result["recordingState"], result["recordingStates"]) == ("active", ["active", "inactive"])


async def test_the_js_sdks_run_a_whole_call_over_http_with_allow_insecure_connection(
    emulator: RunningEmulator,
) -> None:
    assert_flow(*await run_flow(emulator, INSECURE="1"))


async def test_without_allow_insecure_connection_the_js_sdk_refuses_http(emulator: RunningEmulator) -> None:
    code, result = await run_flow(emulator, INSECURE="0")

    assert code == 1
    assert "allowInsecureConnection" in result["error"]
    assert result["received"] == []


@pytest.fixture
async def https_emulator(tmp_path: Path) -> AsyncIterator[tuple[RunningEmulator, Path]]:
    files = ensure_tls_files(tmp_path)
    running = await start_emulator(
        EmulatorConfig(time_scale=0.02), ssl_context=files.server_context(), public_host="localhost"
    )
    try:
        yield running, files.ca_file
    finally:
        await running.close()


async def test_the_js_sdks_run_a_whole_call_over_tls_trusting_the_ca_through_node_extra_ca_certs(
    https_emulator: tuple[RunningEmulator, Path],
) -> None:
    running, ca_file = https_emulator
    assert running.url.startswith("https://localhost:")

    assert_flow(*await run_flow(running, NODE_EXTRA_CA_CERTS=str(ca_file)))
