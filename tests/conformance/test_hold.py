"""``:hold`` / ``:unhold`` through the official SDK, and the 501 of the operations the emulator
does not run (transcription, media streaming)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.communication.callautomation import CommunicationUserIdentifier, FileSource, TextSource
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator.keys import MEDIA
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    CallbackKeys,
    audience,
    check_callbacks,
    connection_id,
    events_named,
    names,
    parse_callback_event,
    received,
    settle,
)
from tests.conformance.conftest import new_user_id, signed_request
from tests.conformance.media_helpers import file_server, wav_bytes
from tests.conformance.participant_helpers import live_call
from tests.conformance.review_helpers import acs_error, on_connection
from tests.support.callback_sink import CallbackSink


def on_hold(event: dict[str, Any]) -> dict[str, bool]:
    """rawId -> isOnHold, as a ParticipantsUpdated event reports them."""
    return {p["identifier"]["rawId"]: p["isOnHold"] for p in event["data"]["participants"]}


async def test_hold_and_unhold_show_in_the_participant_and_reach_every_connection(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    live = await live_call(emulator, calls, sink)
    other = connection_id(await calls.connect(sink.url("/other"), room_id=live.room_id))
    await sink.wait_for(received("/other", "ParticipantsUpdated"))
    member = live.members[0]

    await on_connection(
        calls, live.connection_id, "hold", CommunicationUserIdentifier(member), operation_context="hold"
    )

    held = await calls.get_participant(live.connection_id, member)
    assert held.is_on_hold is True
    for path in ("/bot", "/other"):
        await sink.wait_for(received(path, "ParticipantsUpdated", 2))
        assert on_hold(events_named(sink, path, "ParticipantsUpdated")[-1]) == {member: True}

    await on_connection(calls, other, "unhold", CommunicationUserIdentifier(member))

    assert (await calls.get_participant(live.connection_id, member)).is_on_hold is False
    for path in ("/bot", "/other"):
        await sink.wait_for(received(path, "ParticipantsUpdated", 3))
        assert on_hold(events_named(sink, path, "ParticipantsUpdated")[-1]) == {member: False}
    check_callbacks(sink, keys, audience(emulator))


async def test_hold_with_music_and_twice_changes_the_list_once(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    member = CommunicationUserIdentifier(live.members[0])

    await on_connection(calls, live.connection_id, "hold", member, play_source=TextSource(text="please hold"))
    await on_connection(calls, live.connection_id, "hold", member)
    await on_connection(calls, live.connection_id, "unhold", member)

    await sink.wait_for(received("/bot", "ParticipantsUpdated", 3))
    updates = events_named(sink, "/bot", "ParticipantsUpdated")
    assert [on_hold(e)[member.raw_id] for e in updates] == [False, True, False]


@pytest.mark.parametrize("method", ["hold", "unhold"])
async def test_holding_someone_not_in_the_call_is_404(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, method: str
) -> None:
    live = await live_call(emulator, calls, sink)

    with pytest.raises(ResourceNotFoundError) as caught:
        await on_connection(calls, live.connection_id, method, CommunicationUserIdentifier(new_user_id()))

    assert acs_error(caught.value) == (404, "8522")


async def test_a_hold_with_a_bad_play_source_is_400(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    body = {"targetParticipant": {"rawId": live.members[0]}, "playSourceInfo": {"kind": "video"}}

    answer = await signed_request(
        emulator, "POST", f"/calling/callConnections/{live.connection_id}:hold?api-version=2026-03-12", body
    )

    assert answer.status == 400
    assert answer.body["error"]["code"] == "8523"
    assert answer.body["error"]["target"] == "playSourceInfo[0].kind"


UNSUPPORTED: dict[str, dict[str, Any]] = {
    "start_transcription": {"locale": "en-US"},
    "stop_transcription": {},
    "update_transcription": {"locale": "fr-FR"},
    "start_media_streaming": {},
    "stop_media_streaming": {},
}


@pytest.mark.parametrize("method", list(UNSUPPORTED))
async def test_transcription_and_media_streaming_answer_501_not_supported(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, method: str
) -> None:
    live = await live_call(emulator, calls, sink)

    with pytest.raises(HttpResponseError) as caught:
        await on_connection(calls, live.connection_id, method, **UNSUPPORTED[method])

    assert acs_error(caught.value) == (501, "NotSupportedByEmulator")
    assert caught.value.error is not None
    operation = "".join(word.title() if i else word for i, word in enumerate(method.split("_")))
    assert operation in str(caught.value.error.message)


@pytest.mark.parametrize(
    ("field", "options"),
    [
        (
            "transcriptionOptions",
            {"transportUrl": "wss://bot.example/t", "transportType": "websocket", "locale": "en-US"},
        ),
        ("mediaStreamingOptions", {"transportUrl": "wss://bot.example/m", "transportType": "websocket"}),
    ],
    ids=["transcription", "media-streaming"],
)
async def test_a_connect_that_would_start_transcription_or_media_streaming_answers_501(
    emulator: RunningEmulator, field: str, options: dict[str, Any]
) -> None:
    start = "startTranscription" if field == "transcriptionOptions" else "startMediaStreaming"
    body = {
        "callLocator": {"kind": "roomCallLocator", "roomId": "1"},
        "callbackUri": "https://bot.example/api/callbacks",
    }
    path = "/calling/callConnections:connect?api-version=2026-03-12"

    refused = await signed_request(emulator, "POST", path, {**body, field: {**options, start: True}})
    # Not started, the options only configure: the connect goes on (to the unknown room's 4xx).
    configured = await signed_request(emulator, "POST", path, {**body, field: {**options, start: False}})

    assert refused.status == 501
    assert refused.body["error"]["code"] == "NotSupportedByEmulator"
    assert refused.body["error"]["target"] == f"{field}.{start}"
    assert configured.status != 501


async def test_an_unsupported_operation_on_an_unknown_call_is_still_404(
    emulator: RunningEmulator, calls: CallAutomationApi
) -> None:
    with pytest.raises(ResourceNotFoundError):
        await on_connection(calls, "00000000-0000-0000-0000-000000000000", "start_transcription")


@pytest.mark.parametrize(
    ("files", "sub_code"),
    [({"/music.wav": b"RIFF not really a wave"}, 8535), ({}, 8536)],
    ids=["bad-format", "download-failed"],
)
async def test_hold_music_that_cannot_play_fails_the_hold_and_takes_the_participant_off_hold(
    emulator: RunningEmulator,
    calls: CallAutomationApi,
    sink: CallbackSink,
    keys: CallbackKeys,
    files: dict[str, bytes],
    sub_code: int,
) -> None:
    live = await live_call(emulator, calls, sink)
    member = live.members[0]
    async with file_server(files) as base:
        await on_connection(
            calls,
            live.connection_id,
            "hold",
            CommunicationUserIdentifier(member),
            play_source=FileSource(url=f"{base}/music.wav"),
            operation_context="hold-music",
        )
        await sink.wait_for(received("/bot", "HoldFailed"))
        await sink.wait_for(received("/bot", "ParticipantsUpdated", 3))

    # As ACS does: the hold answers 200, the participant goes on hold, the music fails, the
    # participant comes off hold.
    assert names(sink, "/bot")[1:] == [
        "ParticipantsUpdated",
        "ParticipantsUpdated",
        "HoldFailed",
        "ParticipantsUpdated",
    ]
    updates = events_named(sink, "/bot", "ParticipantsUpdated")
    assert [on_hold(e)[member] for e in updates[1:]] == [True, False]
    _, failed = parse_callback_event(events_named(sink, "/bot", "HoldFailed")[0])
    info = failed.result_information
    assert (info.code, info.sub_code, failed.operation_context) == (400, sub_code, "hold-music")
    assert (await calls.get_participant(live.connection_id, member)).is_on_hold is False
    check_callbacks(sink, keys, audience(emulator))


async def test_hold_music_that_plays_keeps_the_participant_on_hold(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    member = live.members[0]
    async with file_server({"/music.wav": wav_bytes(0.5)}) as base:
        music = FileSource(url=f"{base}/music.wav")
        await on_connection(
            calls, live.connection_id, "hold", CommunicationUserIdentifier(member), play_source=music
        )
        await sink.wait_for(received("/bot", "ParticipantsUpdated", 2))
        await settle(emulator)
        await emulator.app[MEDIA].drain()

    assert "HoldFailed" not in names(sink, "/bot")
    assert (await calls.get_participant(live.connection_id, member)).is_on_hold is True
