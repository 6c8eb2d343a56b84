"""Call recording through the official SDK (sync and async): start by server call locator or by
call connection id, state, pause, resume, stop, the state events, the file event through Event
Grid, the WAV at its location, and the error answers."""

from __future__ import annotations

import base64
import json

import pytest
from azure.communication.callautomation import FileSource
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from emulator.keys import RECORDINGS
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    CallbackKeys,
    add_room,
    audience,
    check_callbacks,
    join,
    leave,
    parse_callback_event,
    received,
    settle,
)
from tests.conformance.conftest import signed_request
from tests.conformance.media_helpers import Media, file_server, wav_bytes
from tests.conformance.participant_helpers import LiveCall, live_call, subscribe_event_grid
from tests.conformance.recording_helpers import (
    WAV_OPTIONS,
    chunk_of,
    download,
    file_events,
    has_file_event,
    read_wav,
    start,
    state_count,
    states,
)
from tests.conformance.review_helpers import acs_error, on_client
from tests.support.callback_sink import CallbackSink


async def server_call_id(calls: CallAutomationApi, live: LiveCall) -> str:
    value = (await calls.get_call_properties(live.connection_id)).server_call_id
    assert value is not None
    return value


async def test_a_recording_goes_active_pauses_resumes_stops_and_its_file_is_announced(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    await subscribe_event_grid(emulator, sink, "/eventgrid")
    live = await live_call(emulator, calls, sink)
    server_call = await server_call_id(calls, live)

    started = await start(
        calls, server_call_id=server_call, recording_state_callback_url=sink.url("/rec"), **WAV_OPTIONS
    )

    assert started.recording_id
    assert (started.recording_state, started.recording_kind) == ("inactive", "azureCommunicationServices")
    await sink.wait_for(state_count("/rec", 1))
    recording_id = started.recording_id
    assert (await on_client(calls, "get_recording_properties", recording_id)).recording_state == "active"
    await on_client(calls, "pause_recording", recording_id)
    assert (await on_client(calls, "get_recording_properties", recording_id)).recording_state == "inactive"
    await on_client(calls, "resume_recording", recording_id)
    await on_client(calls, "stop_recording", recording_id)
    with pytest.raises(ResourceNotFoundError):
        await on_client(calls, "get_recording_properties", recording_id)

    (event,) = await sink.wait_for(has_file_event("/eventgrid"))
    assert states(sink, "/rec") == ["active", "inactive", "active", "inactive"]
    check_callbacks(sink, keys, audience(emulator), "/rec")
    _, changed = parse_callback_event(sink.events("/rec")[0])
    assert (changed.recording_id, changed.server_call_id) == (recording_id, server_call)
    assert changed.start_date_time is not None
    # Started by server call, the events still name a call connection: the recording's own, the
    # one its id names (recorded live: {"PlatformEndpointId":"<callConnectionId>",...}).
    document = json.loads(base64.urlsafe_b64decode(recording_id + "=" * (-len(recording_id) % 4)))
    assert changed.call_connection_id == document["PlatformEndpointId"] != live.connection_id
    assert event["subject"] == (
        f"/recording/call/{changed.correlation_id}/serverCallId/{server_call}/recordingId/{recording_id}"
    )
    data = event["data"]
    assert data["recordingDurationMs"] > 0
    assert data["sessionEndReason"] == "StopRequested"
    chunk = chunk_of(event)
    assert chunk["index"] == 0
    assert chunk["endReason"] == "SessionEnded"
    for name in ("contentLocation", "metadataLocation", "deleteLocation"):
        assert chunk[name].startswith(f"{emulator.url}/v1/objects/{chunk['documentId']}")


async def test_the_file_is_a_wav_of_the_recorded_time_with_a_tone_where_the_prompt_played(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await subscribe_event_grid(emulator, sink, "/eventgrid")
    live = await live_call(emulator, calls, sink)
    media = Media(calls, live.connection_id)
    async with file_server({"/prompt.wav": wav_bytes(2.0)}) as base:
        # Started through the connection: the state events go to its callback URI.
        recording = await start(calls, call_connection_id=live.connection_id, **WAV_OPTIONS)
        await sink.wait_for(state_count("/bot", 1))
        await media.play([FileSource(url=f"{base}/prompt.wav")], operation_context="prompt")
        await sink.wait_for(received("/bot", "PlayCompleted"))
    assert recording.recording_id is not None
    await on_client(calls, "stop_recording", recording.recording_id)
    (event,) = await sink.wait_for(has_file_event("/eventgrid"))
    chunk = chunk_of(event)

    content = await download(emulator, chunk["contentLocation"])
    assert content.status == 200
    assert isinstance(content.body, bytes)
    wav = read_wav(content.body)
    assert (wav.channels, wav.width, wav.rate) == (1, 2, 16000)
    assert wav.seconds == pytest.approx(event["data"]["recordingDurationMs"] / 1000, abs=0.002)
    # The prompt is a 400 Hz tone for its two seconds (its sine crosses zero twice a period).
    assert wav.loud_seconds() == pytest.approx(2.0 * 38 / 40, rel=0.02)
    ranged = await download(emulator, chunk["contentLocation"], headers={"Range": "bytes=10-99"})
    assert (ranged.status, ranged.body) == (206, content.body[10:100])
    metadata = await download(emulator, chunk["metadataLocation"])
    assert metadata.status == 200
    assert b'"chunkDocumentId"' in metadata.body


async def test_a_file_can_be_deleted_once(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await subscribe_event_grid(emulator, sink, "/eventgrid")
    live = await live_call(emulator, calls, sink)
    recording = await start(calls, call_connection_id=live.connection_id)
    assert recording.recording_id is not None
    await on_client(calls, "stop_recording", recording.recording_id)
    chunk = chunk_of((await sink.wait_for(has_file_event("/eventgrid")))[0])
    path = chunk["deleteLocation"].removeprefix(emulator.url)
    assert (await signed_request(emulator, "DELETE", path)).status == 200
    assert (await signed_request(emulator, "DELETE", path)).status == 404
    assert (await download(emulator, chunk["contentLocation"])).status == 404


async def test_a_recording_ends_with_its_call(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await subscribe_event_grid(emulator, sink, "/eventgrid")
    live = await live_call(emulator, calls, sink)
    recording = await start(calls, call_connection_id=live.connection_id)
    await sink.wait_for(state_count("/bot", 1))

    await leave(emulator, live.room_id, live.members[0])

    (event,) = await sink.wait_for(has_file_event("/eventgrid"))
    assert event["data"]["sessionEndReason"] == "CallEnded"
    assert recording.recording_id is not None
    with pytest.raises(ResourceNotFoundError):
        await on_client(calls, "stop_recording", recording.recording_id)


async def test_pause_on_start_keeps_the_recording_inactive_until_resumed(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    recording = await start(
        calls, server_call_id=await server_call_id(calls, live), pause_on_start=True,
        recording_state_callback_url=sink.url("/rec"),
    )  # fmt: skip
    assert recording.recording_id is not None
    await sink.wait_for(state_count("/rec", 1))
    assert (
        await on_client(calls, "get_recording_properties", recording.recording_id)
    ).recording_state == "inactive"
    await on_client(calls, "resume_recording", recording.recording_id)
    await sink.wait_for(state_count("/rec", 2))
    assert states(sink, "/rec") == ["inactive", "active"]


async def test_recording_a_call_twice_is_409_and_a_missing_call_is_404(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    await start(calls, call_connection_id=live.connection_id)

    with pytest.raises(ResourceExistsError) as twice:
        await start(calls, room_id=live.room_id)
    with pytest.raises(ResourceNotFoundError) as unknown_call:
        await start(calls, server_call_id="aHR0cHM6Ly9ub3doZXJlLmludmFsaWQvY29udi94")
    with pytest.raises(ResourceNotFoundError) as unknown_connection:
        await start(calls, call_connection_id="00000000-0000-0000-0000-000000000000")

    assert acs_error(twice.value) == (409, "8519")
    assert acs_error(unknown_call.value) == (404, "8522")
    assert acs_error(unknown_connection.value) == (404, "8522")


async def test_recording_a_room_whose_call_ended_is_404(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    await leave(emulator, room.id, room.members[0])

    with pytest.raises(ResourceNotFoundError) as ended:
        await start(calls, room_id=room.id)

    assert acs_error(ended.value) == (404, "8522")
    await settle(emulator)
    await emulator.app[RECORDINGS].drain()
    assert file_events(sink, "/eventgrid") == []


async def test_external_storage_answers_501_naming_it(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    body = {
        "callConnectionId": live.connection_id,
        "externalStorage": {
            "recordingStorageKind": "azureBlobStorage",
            "recordingDestinationContainerUrl": "https://x.blob.core.windows.net/r",
        },
    }

    answer = await signed_request(emulator, "POST", "/calling/recordings?api-version=2026-03-12", body)

    assert answer.status == 501
    assert (answer.body["error"]["code"], answer.body["error"]["target"]) == (
        "NotSupportedByEmulator",
        "externalStorage",
    )
