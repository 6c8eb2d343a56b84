"""Helpers for the media conformance tests: the SDK's media calls behind one awaitable surface
(sync client in a worker thread, or async), a room call with a connected app, key presses and
the media log through the control API, and a small HTTP server for audio files."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from azure.communication.callautomation import (
    CallConnectionClient,
    PhoneNumberIdentifier,
    SendDtmfTonesResult,
)
from azure.communication.callautomation._shared.models import identifier_from_raw_id
from azure.communication.callautomation.aio import CallConnectionClient as AsyncCallConnectionClient

from emulator.config import DEV_COGNITIVE_SERVICES_ENDPOINT
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    AsyncCallAutomation,
    CallAutomationApi,
    ClientKind,
    SyncCallAutomation,
    add_room,
    connection_id,
    control,
    join,
    open_call_automation,
    received,
)
from tests.support.callback_sink import CallbackSink

ALL = "all"


class Media:
    """One call connection's media actions through the official client, sync or async."""

    def __init__(self, api: CallAutomationApi, call_connection_id: str) -> None:
        assert isinstance(api, SyncCallAutomation | AsyncCallAutomation)
        self.kind: ClientKind = api.kind
        self.connection: CallConnectionClient | AsyncCallConnectionClient = api.client.get_call_connection(
            call_connection_id
        )

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        function = getattr(self.connection, method)
        if self.kind == "sync":
            return await asyncio.to_thread(function, *args, **kwargs)
        return await function(*args, **kwargs)

    async def play(self, sources: Any, to: str | Sequence[str] = ALL, **kwargs: Any) -> None:
        play_to: Any = ALL if to == ALL else [identifier_from_raw_id(raw_id) for raw_id in to]
        await self._run("play_media", sources, play_to, **kwargs)

    async def recognize(self, target: str, input_type: str = "dtmf", **kwargs: Any) -> None:
        await self._run("start_recognizing_media", input_type, identifier_from_raw_id(target), **kwargs)

    async def cancel_all(self) -> None:
        await self._run("cancel_all_media_operations")

    async def start_continuous(self, target: str, **kwargs: Any) -> None:
        await self._run("start_continuous_dtmf_recognition", identifier_from_raw_id(target), **kwargs)

    async def stop_continuous(self, target: str, **kwargs: Any) -> None:
        await self._run("stop_continuous_dtmf_recognition", identifier_from_raw_id(target), **kwargs)

    async def hang_up(self) -> None:
        await self._run("hang_up", is_for_everyone=False)

    async def add_phone(self, number: str, caller_id: str = "+14255550100") -> None:
        phone, caller = PhoneNumberIdentifier(number), PhoneNumberIdentifier(caller_id)
        await self._run("add_participant", phone, source_caller_id_number=caller)

    async def send_dtmf(self, tones: Sequence[str], target: str, **kwargs: Any) -> SendDtmfTonesResult:
        result: SendDtmfTonesResult = await self._run(
            "send_dtmf_tones", list(tones), identifier_from_raw_id(target), **kwargs
        )
        return result


@dataclass(frozen=True)
class Scene:
    """A room call with everyone of ``members`` in it and an app connected at ``path``."""

    emulator: RunningEmulator
    room_id: str
    members: list[str]
    connection_id: str
    path: str
    media: Media

    async def log(self) -> list[dict[str, Any]]:
        answer = await control(self.emulator, "GET", f"/emulator/rooms/{self.room_id}/call")
        assert answer.status == 200, answer
        entries: list[dict[str, Any]] = answer.body["media"]
        return entries

    async def press(self, raw_id: str, tones: Any) -> None:
        """``raw_id`` presses keys, through the control API, which must take them."""
        path = f"/emulator/rooms/{self.room_id}/participants/{raw_id}:dtmf"
        answer = await control(self.emulator, "POST", path, {"tones": tones})
        assert answer.status == 200, answer

    async def wait_log(
        self, condition: Callable[[list[dict[str, Any]]], bool], within: float = 10.0
    ) -> list[dict[str, Any]]:
        """Poll the media log until ``condition`` holds (the log has no push channel)."""
        async with asyncio.timeout(within):
            while True:
                entries = await self.log()
                if condition(entries):
                    return entries
                await asyncio.sleep(0.01)


@asynccontextmanager
async def scene(
    emulator: RunningEmulator,
    sink: CallbackSink,
    kind: ClientKind = "async",
    roles: Sequence[str] = ("Presenter", "Attendee", "Consumer"),
    path: str = "/bot",
    cognitive_services_endpoint: str | None = DEV_COGNITIVE_SERVICES_ENDPOINT,
) -> AsyncIterator[Scene]:
    """A call of a new room with ``roles`` all joined, connected to at ``path``; with the dev AI
    services endpoint by default (ACS speaks text prompts only then), ``None`` for none."""
    room = add_room(emulator, roles)
    for member in room.members:
        await join(emulator, room.id, member)
    async with open_call_automation(emulator, kind) as api:
        props = await api.connect(
            sink.url(path), room_id=room.id, cognitive_services_endpoint=cognitive_services_endpoint
        )
        await sink.wait_for(received(path, "ParticipantsUpdated"))
        cid = connection_id(props)
        yield Scene(emulator, room.id, room.members, cid, path, Media(api, cid))


def wav_bytes(seconds: float, *, rate: int = 16000, channels: int = 1, width: int = 2) -> bytes:
    """A silent WAV file of ``seconds``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(channels)
        audio.setsampwidth(width)
        audio.setframerate(rate)
        audio.writeframes(b"\0" * int(seconds * rate) * channels * width)
    return buffer.getvalue()


@asynccontextmanager
async def file_server(files: dict[str, bytes]) -> AsyncIterator[str]:
    """Serve ``files`` (path → body) on a free loopback port; yields the base URL. Other paths
    answer 404."""

    async def serve(request: web.Request) -> web.Response:
        body = files.get(request.path)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def entry_named(entries: list[dict[str, Any]], operation_context: str) -> dict[str, Any]:
    matches = [e for e in entries if e["operationContext"] == operation_context]
    assert len(matches) == 1, entries
    return matches[0]
