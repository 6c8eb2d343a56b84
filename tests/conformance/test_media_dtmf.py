"""DTMF beyond recognize: continuous recognition, sending tones to a phone, and the control
API's key presses with their bad inputs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from azure.core.exceptions import HttpResponseError

from emulator.keys import CALLBACKS, ROOMS
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallbackKeys,
    ClientKind,
    add_room,
    check_callbacks,
    control,
    events_named,
    join,
    parse_callback_event,
    received,
)
from tests.conformance.conftest import signed_request
from tests.conformance.media_helpers import Scene, scene
from tests.support.callback_sink import CallbackSink

PHONE = "+14255550123"
TONE_RECEIVED = "ContinuousDtmfRecognitionToneReceived"
VERSION = "?api-version=2026-03-12"


def tones_received(sink: CallbackSink) -> list[tuple[str, int, str | None]]:
    models = [parse_callback_event(e)[1] for e in events_named(sink, "/bot", TONE_RECEIVED)]
    return [(m.tone, m.sequence_id, m.operation_context) for m in models]


async def with_phone(emulator: RunningEmulator, call: Scene, sink: CallbackSink) -> str:
    """Dial a simulated phone into the call (it answers by default); returns its raw id."""
    room = emulator.app[ROOMS].get(call.room_id)
    assert room is not None
    room.pstn_dial_out_enabled = True
    await call.media.add_phone(PHONE)
    await sink.wait_for(received("/bot", "AddParticipantSucceeded"))
    return "4:" + PHONE


async def test_continuous_recognition_reports_each_key_of_its_participant_until_stopped(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys, kind: ClientKind
) -> None:
    async with scene(emulator, sink, kind) as call:
        target, other = call.members[1], call.members[2]
        await call.media.start_continuous(target, operation_context="hotkeys")
        await call.press(target, "*0")
        await call.press(other, "9")
        await call.press(target, ["pound"])
        await sink.wait_for(received("/bot", TONE_RECEIVED, 3))

        await call.media.stop_continuous(target, operation_context="stop")
        await sink.wait_for(received("/bot", "ContinuousDtmfRecognitionStopped"))
        await call.press(target, "1")
        await emulator.app[CALLBACKS].drain()

    assert tones_received(sink) == [
        ("asterisk", 1, "hotkeys"),
        ("zero", 2, "hotkeys"),
        ("pound", 3, "hotkeys"),
    ]
    (stopped,) = events_named(sink, "/bot", "ContinuousDtmfRecognitionStopped")
    stopped_model = parse_callback_event(stopped)[1]
    assert stopped_model.operation_context == "stop"
    assert stopped_model.result_information.code == 200
    # Continuous recognition is not a media operation of the log.
    assert await call.log() == []
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_keys_reach_a_recognize_and_continuous_recognition_alike(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        target = call.members[0]
        await call.media.start_continuous(target)
        await call.media.recognize(target, dtmf_max_tones_to_collect=2, initial_silence_timeout=300)
        await call.press(target, "12")
        await sink.wait_for(received("/bot", "RecognizeCompleted"))
        await sink.wait_for(received("/bot", TONE_RECEIVED, 2))

    completed = parse_callback_event(events_named(sink, "/bot", "RecognizeCompleted")[0])[1]
    assert completed.dtmf_result.tones == ["one", "two"]
    assert tones_received(sink) == [("one", 1, None), ("two", 2, None)]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_sending_tones_to_a_phone_completes_and_is_logged(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys, kind: ClientKind
) -> None:
    async with scene(emulator, sink, kind) as call:
        phone = await with_phone(emulator, call, sink)

        sent = await call.media.send_dtmf(["one", "pound"], phone, operation_context="extension")
        await sink.wait_for(received("/bot", "SendDtmfTonesCompleted"))
        (entry,) = await call.log()

    assert sent.operation_context == "extension"
    completed = parse_callback_event(events_named(sink, "/bot", "SendDtmfTonesCompleted")[0])[1]
    assert completed.operation_context == "extension"
    assert (completed.result_information.code, completed.result_information.sub_code) == (200, 0)
    assert entry["kind"] == "sendDtmf"
    assert entry["to"] == [phone]
    assert entry["tones"] == ["one", "pound"]
    assert entry["status"] == "completed"
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_tones_go_to_phones_only_and_must_be_dtmf_tones(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    async with scene(emulator, sink) as call:
        with pytest.raises(HttpResponseError) as raised:
            await call.media.send_dtmf(["one"], call.members[0])
        path = f"/calling/callConnections/{call.connection_id}:sendDtmfTones{VERSION}"
        identifier = {"rawId": call.members[0]}
        bad_tone = await signed_request(
            emulator, "POST", path, {"tones": ["hash"], "targetParticipant": identifier}
        )
        no_tones = await signed_request(
            emulator, "POST", path, {"tones": [], "targetParticipant": identifier}
        )
        log = await call.log()

    assert raised.value.status_code == 400
    assert raised.value.error is not None
    assert raised.value.error.code == "8523"
    assert (bad_tone.status, bad_tone.body["error"]["target"]) == (400, "tones[0]")
    assert (no_tones.status, no_tones.body["error"]["target"]) == (400, "tones")
    assert log == []


async def test_continuous_recognition_needs_a_participant_of_the_call(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    async with scene(emulator, sink) as call:
        with pytest.raises(HttpResponseError) as raised:
            await call.media.start_continuous("8:acs:someone-else")

    assert raised.value.status_code == 400
    assert raised.value.error is not None
    assert raised.value.error.code == "8523"


@pytest.mark.parametrize(
    ("tones", "expected"),
    [
        pytest.param("1#", ["one", "pound"], id="keys"),
        pytest.param("a*", ["a", "asterisk"], id="lower-case-letters"),
        pytest.param("pound", ["pound"], id="one-word"),
        pytest.param("one, 2 three", ["one", "two", "three"], id="words-and-keys"),
        pytest.param(["nine", "#"], ["nine", "pound"], id="list"),
    ],
)
async def test_the_control_api_takes_keys_or_tone_words(
    emulator: RunningEmulator, sink: CallbackSink, tones: Any, expected: list[str]
) -> None:
    async with scene(emulator, sink) as call:
        # Raw ids hold ':'; the route takes them URL-encoded as well as literal.
        path = f"/emulator/rooms/{call.room_id}/participants/{quote(call.members[0], safe='')}:dtmf"
        answer = await control(emulator, "POST", path, {"tones": tones})

    assert (answer.status, answer.body) == (200, {"tones": expected})


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"tones": "12x"}, id="not-a-key"),
        pytest.param({"tones": ""}, id="empty"),
        pytest.param({"tones": []}, id="empty-list"),
        pytest.param({"tones": ["one", 2]}, id="not-a-string"),
        pytest.param({"tones": 5}, id="a-number"),
        pytest.param({}, id="missing"),
        pytest.param(["1"], id="not-an-object"),
    ],
)
async def test_the_control_api_refuses_bad_keys_with_400(
    emulator: RunningEmulator, sink: CallbackSink, body: Any
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.start_continuous(call.members[0])
        answer = await control(
            emulator, "POST", f"/emulator/rooms/{call.room_id}/participants/{call.members[0]}:dtmf", body
        )
        await emulator.app[CALLBACKS].drain()

    assert answer.status == 400
    assert answer.body["error"]["code"] == "BadRequest"
    assert events_named(sink, "/bot", TONE_RECEIVED) == []


async def test_the_control_api_answers_404_without_room_or_call_and_409_outside_the_call(
    emulator: RunningEmulator,
) -> None:
    idle = add_room(emulator)
    unknown = await control(
        emulator, "POST", f"/emulator/rooms/404/participants/{idle.members[0]}:dtmf", {"tones": "1"}
    )
    no_call = await control(
        emulator, "POST", f"/emulator/rooms/{idle.id}/participants/{idle.members[0]}:dtmf", {"tones": "1"}
    )
    await join(emulator, idle.id, idle.members[0])
    outside = await control(
        emulator, "POST", f"/emulator/rooms/{idle.id}/participants/{idle.members[1]}:dtmf", {"tones": "1"}
    )

    assert (unknown.status, no_call.status, outside.status) == (404, 404, 409)
    assert outside.headers["x-ms-error-code"] == "Conflict"
