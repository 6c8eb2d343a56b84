"""``download_recording`` and ``delete_recording`` of the official SDK, unchanged.

The SDK sends its signed request only to an https location on an ACS storage host
(``*.asm.skype.com``; ``recording_url_validator.py``, an SSRF guard). So the emulator serves
TLS with ``--recording-host`` naming such a host, its certificate covers that name, and the app
resolves the name to the emulator: here through the resolver of the aiohttp session handed to
azure-core's transport, in a real setup through a hosts-file line.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline.transport import AioHttpTransport

from emulator.config import EmulatorConfig
from emulator.server import RunningEmulator, start_emulator
from emulator.tls import ensure_tls_files
from tests.conformance.call_helpers import add_room
from tests.conformance.participant_helpers import answer_handshake
from tests.conformance.recording_helpers import chunk_of, has_file_event, read_wav
from tests.support.callback_sink import CallbackSink

STORAGE_HOST = "recordings.emulator.asm.skype.com"


class ToLoopback(AbstractResolver):
    """Resolves the storage host to the emulator, every other name as usual."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        address = "127.0.0.1" if host in (STORAGE_HOST, "localhost") else host
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
async def storage_emulator(tmp_path: Path) -> AsyncIterator[tuple[RunningEmulator, Path]]:
    files = ensure_tls_files(tmp_path, extra_names=(STORAGE_HOST,))
    config = EmulatorConfig(time_scale=0.02, recording_host=STORAGE_HOST)
    running = await start_emulator(config, ssl_context=files.server_context(), public_host="localhost")
    try:
        yield running, files.ca_file
    finally:
        await running.close()


@pytest.fixture
async def client(storage_emulator: tuple[RunningEmulator, Path]) -> AsyncIterator[CallAutomationClient]:
    running, ca_file = storage_emulator
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=ToLoopback())) as session:
        transport = AioHttpTransport(session=session, session_owner=False, connection_verify=str(ca_file))
        credential = AzureKeyCredential(running.config.access_key)
        async with CallAutomationClient(
            running.url, credential, retry_total=0, transport=transport
        ) as client:
            yield client


async def body_of(stream: Any) -> bytes:
    """The bytes of what ``download_recording`` gives: typed as an async iterable of bytes, it is
    the HTTP response in SDK 1.6 (azure-sdk-for-python#42835); both are read here."""
    if hasattr(stream, "read"):
        data: bytes = await stream.read()
        return data
    return b"".join([piece async for piece in stream])


async def control_post(
    running: RunningEmulator, trusting: ssl.SSLContext, path: str, body: Any = None
) -> dict[str, Any]:
    """A control API request over the emulator's https."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(running.url + path, json=body, ssl=trusting) as response,
    ):
        assert response.status in (200, 201), await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def recorded_file(
    running: RunningEmulator, trusting: ssl.SSLContext, client: CallAutomationClient, sink: CallbackSink
) -> dict[str, Any]:
    """A room call recorded for a moment; the chunk its file event names."""
    sink.respond("/eventgrid", answer_handshake)
    await control_post(
        running, trusting, "/emulator/eventgrid/subscriptions", {"endpoint": sink.url("/eventgrid")}
    )
    room = add_room(running)
    joined = await control_post(
        running, trusting, f"/emulator/rooms/{room.id}/participants/{room.members[0]}:join"
    )
    server_call_id = joined["serverCallId"]
    recording = await client.start_recording(
        server_call_id=server_call_id,
        recording_content_type="audio",
        recording_channel_type="mixed",
        recording_format_type="wav",
    )
    assert recording.recording_id is not None
    await client.stop_recording(recording.recording_id)
    (event,) = await sink.wait_for(has_file_event("/eventgrid"))
    return chunk_of(event)


async def test_the_sdk_downloads_and_deletes_a_recording_unchanged(
    storage_emulator: tuple[RunningEmulator, Path], client: CallAutomationClient
) -> None:
    running, ca_file = storage_emulator
    trusting = ssl.create_default_context(cafile=ca_file)
    async with CallbackSink() as sink:
        chunk = await recorded_file(running, trusting, client, sink)
        assert chunk["contentLocation"].startswith(f"https://{STORAGE_HOST}:")

        body = await body_of(await client.download_recording(chunk["contentLocation"]))
        wav = read_wav(body)
        assert (wav.channels, wav.rate) == (1, 16000)
        part = await client.download_recording(chunk["contentLocation"], offset=4, length=8)
        assert await body_of(part) == body[4:12]

        await client.delete_recording(chunk["deleteLocation"])
        with pytest.raises(ResourceNotFoundError):
            await body_of(await client.download_recording(chunk["contentLocation"]))


async def test_without_a_storage_host_the_sdk_refuses_the_location(
    emulator: RunningEmulator,
) -> None:
    credential = AzureKeyCredential(emulator.config.access_key)
    async with CallAutomationClient(emulator.url, credential, retry_total=0) as plain:
        with pytest.raises(ValueError, match=r"HTTPS|valid Azure Communication Services"):
            await plain.download_recording(f"{emulator.url}/v1/objects/0-emu-d1-x/content/audio")
