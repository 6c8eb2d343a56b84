"""Call recording routes (Call Automation REST API 2026-03-12), as the official SDKs use them:

- ``POST /calling/recordings`` ``StartCallRecordingRequest`` → 200 ``RecordingStateResponse``
  (the status of Microsoft's recorded live traffic; the SDKs accept 200 and 202). It carries
  ``Repeatability-Request-ID``, which the app's middleware honours.
- ``GET /calling/recordings/{recordingId}`` → 200 ``RecordingStateResponse``;
  ``DELETE`` → 204 (stop); ``POST .../{recordingId}:pause`` and ``:resume`` → 202.
- The file, at the locations RecordingFileStatusUpdated names (paths as the recorded ones:
  ``/v1/objects/{documentId}/content/audio``, ``.../content/acsmetadata``, and
  ``DELETE /v1/objects/{documentId}`` → 200, what the SDKs' ``delete_recording`` expects).
  Downloads honour ``Range: bytes=a-b`` (206), as ``download_recording(offset, length)`` sends.
  They are HMAC-signed like every other request and carry no api-version.

A request that asks for external storage (``externalStorage``, "bring your own storage") answers
501 ``NotSupportedByEmulator``: the emulator keeps files itself.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from aiohttp import web

from emulator.calls.routes import LOCATOR_ID_FIELDS, _json_object
from emulator.keys import CALLBACKS, CALLS, CLOCK, CONFIG, EVENT_GRID, RECORDINGS
from emulator.protocol.errors import AcsError, invalid, not_supported
from emulator.protocol.versions import normalize_version
from emulator.recording.model import (
    CHANNEL_TYPES,
    CONTENT_TYPES,
    DEFAULT_CHANNEL,
    DEFAULT_CONTENT,
    DEFAULT_FORMAT,
    FORMAT_TYPES,
)
from emulator.recording.service import RecordingService, audio_of
from emulator.rooms.wire import check_room_id
from emulator.urls import is_http_url

BASE = "/calling/recordings"
RECORDING = "{recording_id:[^/:]+}"
OBJECTS = "/v1/objects/"
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
# The first api-version whose start of a recording answers 202.
ACCEPTED_FROM = "2026-03-12"


def is_content_path(path: str) -> bool:
    """Recording files: HMAC-signed but without an api-version."""
    return path.startswith(OBJECTS)


def _service(request: web.Request) -> RecordingService:
    return request.app[RECORDINGS]


def _choice(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if value not in allowed:
        raise invalid(f"The field {name} must be one of {', '.join(allowed)}.", target=name)
    return cast(str, value)


def _locator(body: dict[str, Any]) -> dict[str, str | None]:
    """Exactly one of callLocator and callConnectionId; the id it names."""
    locator, connection_id = body.get("callLocator"), body.get("callConnectionId")
    if (locator is None) == (connection_id is None):
        raise invalid("Exactly one of callLocator and callConnectionId is required.", target="callLocator")
    found: dict[str, str | None] = {"call_connection_id": None, "server_call_id": None, "room_id": None}
    if connection_id is not None:
        if not isinstance(connection_id, str) or not connection_id:
            raise invalid("The field callConnectionId must be a string.", target="callConnectionId")
        found["call_connection_id"] = connection_id
        return found
    kind = locator.get("kind") if isinstance(locator, dict) else None
    field = LOCATOR_ID_FIELDS.get(kind) if isinstance(kind, str) else None
    value = locator.get(field) if field is not None and isinstance(locator, dict) else None
    if field is None or not isinstance(value, str) or not value:
        raise invalid("The call locator must name a serverCallId or a roomId.", target="callLocator")
    if kind == "groupCallLocator":
        # The emulator runs room calls only: no group call exists.
        raise AcsError(404, "8522", "Call not found.", target=value)
    if kind == "roomCallLocator":
        check_room_id(value)
    found["server_call_id" if kind == "serverCallLocator" else "room_id"] = value
    return found


async def start_recording(request: web.Request) -> web.Response:
    body = await _json_object(request)
    where = _locator(body)
    if body.get("externalStorage") is not None:
        raise not_supported("externalStorage")
    callback = body.get("recordingStateCallbackUri")
    if callback is not None and not is_http_url(callback):
        raise invalid("The field RecordingStateCallbackUri is invalid.", target="recordingStateCallbackUri")
    pause_on_start = body.get("pauseOnStart")
    if pause_on_start is not None and not isinstance(pause_on_start, bool):
        raise invalid("The field pauseOnStart must be true or false.", target="pauseOnStart")
    service = _service(request)
    call, connection = service.locate(**where)
    recording = service.start(
        call,
        connection,
        state_callback_uri=callback,
        content_type=_choice(body, "recordingContentType", CONTENT_TYPES, DEFAULT_CONTENT),
        channel_type=_choice(body, "recordingChannelType", CHANNEL_TYPES, DEFAULT_CHANNEL),
        format_type=_choice(body, "recordingFormatType", FORMAT_TYPES, DEFAULT_FORMAT),
        pause_on_start=bool(pause_on_start),
        api_version=normalize_version(request.query["api-version"]),
    )
    return web.json_response(recording.state_response(), status=start_status(request.query["api-version"]))


def start_status(api_version: str) -> int:
    """The success status of a start: 202 with api-version 2026-03-12 (recorded live traffic,
    ``Azure/azure-sdk-assets``, the Python test ``test_start_recording_with_call_connection_id``),
    200 with the versions before it (the JavaScript recordings of 2024-09-01-preview). The SDKs
    accept either."""
    return 202 if normalize_version(api_version) >= ACCEPTED_FROM else 200


async def get_recording(request: web.Request) -> web.Response:
    recording = _service(request).get(request.match_info["recording_id"])
    return web.json_response(recording.state_response())


async def stop_recording(request: web.Request) -> web.Response:
    _service(request).stop(request.match_info["recording_id"])
    return web.Response(status=204)


def _action(act: Callable[[RecordingService, str], None]) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.Response:
        act(_service(request), request.match_info["recording_id"])
        return web.Response(status=202)

    return handler


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``Range: bytes=a-b`` as (start, stop) with stop exclusive; None for the whole file."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    start = int(match[1])
    stop = int(match[2]) + 1 if match[2] else size
    if start >= size or stop <= start:
        raise AcsError(416, "InvalidRange", f"The range {header} is outside the file ({size} bytes).")
    return start, min(stop, size)


async def download_content(request: web.Request) -> web.StreamResponse:
    chunk = _service(request).chunk(request.match_info["document_id"])
    audio = audio_of(chunk)
    wanted = _byte_range(request.headers.get("Range"), audio.size)
    start, stop = wanted or (0, audio.size)
    response = web.StreamResponse(status=206 if wanted else 200)
    response.content_type = "audio/wav"
    response.content_length = stop - start
    response.headers["Accept-Ranges"] = "bytes"
    if wanted:
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{audio.size}"
    await response.prepare(request)
    for piece in audio.render(start, stop):
        await response.write(piece)
    await response.write_eof()
    return response


async def download_metadata(request: web.Request) -> web.Response:
    chunk = _service(request).chunk(request.match_info["document_id"])
    return web.json_response(chunk.metadata(request.app[CONFIG].resource_id))


async def delete_content(request: web.Request) -> web.Response:
    _service(request).delete_chunk(request.match_info["document_id"])
    return web.Response(status=200)


def setup(app: web.Application, storage_url: Callable[[], str]) -> None:
    """Register the routes; ``storage_url`` is the base URL of the files' locations."""
    service = RecordingService(
        calls=app[CALLS],
        clock=app[CLOCK],
        callbacks=app[CALLBACKS],
        eventgrid=app[EVENT_GRID],
        storage_url=storage_url,
    )
    app[RECORDINGS] = service

    async def background(app: web.Application) -> AsyncIterator[None]:
        yield
        await service.close()

    app.cleanup_ctx.append(background)
    app.router.add_post(BASE, start_recording)
    app.router.add_get(f"{BASE}/{RECORDING}", get_recording)
    app.router.add_delete(f"{BASE}/{RECORDING}", stop_recording)
    app.router.add_post(f"{BASE}/{RECORDING}:pause", _action(RecordingService.pause))
    app.router.add_post(f"{BASE}/{RECORDING}:resume", _action(RecordingService.resume))
    document = OBJECTS + "{document_id:[^/]+}"
    app.router.add_get(f"{document}/content/acsmetadata", download_metadata)
    app.router.add_get(document + "/content/{kind:[^/]+}", download_content)
    app.router.add_delete(document, delete_content)
