"""DTMF recognize through the official SDK: each outcome with ACS's result codes, barge-in,
choices, cancel, and requests the emulator refuses."""

from __future__ import annotations

from typing import Any

import pytest
from azure.communication.callautomation import RecognitionChoice, TextSource
from azure.core.exceptions import HttpResponseError

from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallbackKeys,
    ClientKind,
    check_callbacks,
    events_named,
    leave,
    parse_callback_event,
)
from tests.conformance.conftest import signed_request
from tests.conformance.media_helpers import scene
from tests.support.callback_sink import CallbackSink

VERSION = "?api-version=2026-03-12"
# About 200 simulated seconds: a prompt still playing whenever a test presses a key.
LONG_PROMPT = TextSource(text="Press a key whenever you like. " * 100)
# Sixty simulated seconds: long enough to press a key while it plays, short enough to wait out.
MINUTE_PROMPT = TextSource(text="x" * 900)
PATIENT: dict[str, Any] = {"initial_silence_timeout": 300, "dtmf_inter_tone_timeout": 60}


async def outcome(sink: CallbackSink) -> tuple[str, Any]:
    """The one Recognize* event that ends the recognize, parsed by the SDK's models."""
    ends = ("RecognizeCompleted", "RecognizeFailed", "RecognizeCanceled")
    await sink.wait_for(lambda s: any(events_named(s, "/bot", name) for name in ends))
    (event,) = [e for name in ends for e in events_named(sink, "/bot", name)]
    return parse_callback_event(event)


def codes(model: Any) -> tuple[int, int]:
    return model.result_information.code, model.result_information.sub_code


async def test_collecting_the_maximum_number_of_tones_completes_with_8531(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys, kind: ClientKind
) -> None:
    async with scene(emulator, sink, kind) as call:
        target = call.members[1]
        await call.media.recognize(target, dtmf_max_tones_to_collect=3, operation_context="pin", **PATIENT)
        await call.press(target, "1234")

        name, completed = await outcome(sink)
        (entry,) = await call.log()

    assert name == "RecognizeCompleted"
    assert codes(completed) == (200, 8531)
    assert completed.recognition_type == "dtmf"
    assert completed.dtmf_result.tones == ["one", "two", "three"]
    assert completed.operation_context == "pin"
    assert entry["kind"] == "recognize"
    assert entry["to"] == [target]
    assert entry["tones"] == ["one", "two", "three"]
    assert (entry["status"], entry["resultCode"], entry["resultSubCode"]) == ("completed", 200, 8531)
    assert entry["options"] == {
        "recognizeInputType": "dtmf",
        "initialSilenceTimeoutInSeconds": 300,
        "interToneTimeoutInSeconds": 60,
        "maxTonesToCollect": 3,
        "stopTones": [],
        "interruptPrompt": False,
        "interruptCallMediaOperation": False,
    }
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_a_stop_tone_completes_with_8514_and_is_not_among_the_tones(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        target = call.members[0]
        await call.media.recognize(target, dtmf_max_tones_to_collect=5, dtmf_stop_tones=["pound"], **PATIENT)
        await call.press(target, "42#")
        name, completed = await outcome(sink)

    assert (name, codes(completed)) == ("RecognizeCompleted", (200, 8514))
    assert completed.dtmf_result.tones == ["four", "two"]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_no_key_at_all_fails_with_the_initial_silence_timeout_8510(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.recognize(call.members[0], initial_silence_timeout=1, operation_context="quiet")
        name, failed = await outcome(sink)
        (entry,) = await call.log()

    assert (name, codes(failed)) == ("RecognizeFailed", (400, 8510))
    assert failed.operation_context == "quiet"
    assert (entry["status"], entry["tones"]) == ("failed", [])
    assert entry["options"]["initialSilenceTimeoutInSeconds"] == 1
    assert entry["options"]["interToneTimeoutInSeconds"] == 2  # the default
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_a_pause_between_keys_fails_with_the_inter_tone_timeout_8532(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        target = call.members[2]
        await call.media.recognize(
            target, initial_silence_timeout=300, dtmf_inter_tone_timeout=1, dtmf_max_tones_to_collect=4
        )
        await call.press(target, "12")
        name, failed = await outcome(sink)
        (entry,) = await call.log()

    assert (name, codes(failed)) == ("RecognizeFailed", (400, 8532))
    # The event has no field for tones; the media log keeps what was collected.
    assert entry["tones"] == ["one", "two"]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_with_barge_in_a_key_during_the_prompt_interrupts_it_and_counts(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        target = call.members[1]
        await call.media.recognize(target, play_prompt=LONG_PROMPT, interrupt_prompt=True, **PATIENT)
        await call.press(target, "5")
        name, completed = await outcome(sink)
        (entry,) = await call.log()

    assert (name, codes(completed)) == ("RecognizeCompleted", (200, 8531))
    assert completed.dtmf_result.tones == ["five"]
    assert entry["options"]["interruptPrompt"] is True
    assert entry["sources"][0]["kind"] == "text"
    # A recognize's prompt sends no Play* events.
    assert [e for e in sink.events("/bot") if "Play" in e["type"]] == []
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_without_barge_in_keys_during_the_prompt_are_dropped(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        target = call.members[1]
        await call.media.recognize(target, play_prompt=MINUTE_PROMPT, **PATIENT)
        await call.press(target, "1")
        (entry,) = await call.log()
        assert (entry["phase"], entry["tones"]) == ("prompt", [])

        await call.wait_log(lambda log: log[0]["phase"] == "waiting")
        await call.press(target, "2")
        name, completed = await outcome(sink)

    assert (name, codes(completed)) == ("RecognizeCompleted", (200, 8531))
    assert completed.dtmf_result.tones == ["two"]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_choices_complete_with_8533_on_a_choice_tone_and_fail_with_8534_on_another_key(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    choices = [
        RecognitionChoice(label="accept", phrases=["yes"], tone="one"),
        RecognitionChoice(label="decline", phrases=["no"], tone="two"),
    ]
    async with scene(emulator, sink) as call:
        target = call.members[0]
        await call.media.recognize(target, "choices", choices=choices, initial_silence_timeout=300)
        await call.press(target, "2")
        name, completed = await outcome(sink)
        assert (name, codes(completed)) == ("RecognizeCompleted", (200, 8533))
        assert completed.recognition_type == "choices"
        assert completed.choice_result.label == "decline"
        # A key press recognizes no phrase: null on the wire, not absent (samples index it).
        (raw,) = events_named(sink, "/bot", "RecognizeCompleted")
        assert raw["data"]["choiceResult"] == {"label": "decline", "recognizedPhrase": None}

        await call.media.recognize(target, "choices", choices=choices, initial_silence_timeout=300)
        await call.press(target, "9")
        await sink.wait_for(lambda s: events_named(s, "/bot", "RecognizeFailed"))
        failed = parse_callback_event(events_named(sink, "/bot", "RecognizeFailed")[0])[1]
        log = await call.log()

    assert codes(failed) == (400, 8534)
    assert [(e["status"], e["tones"]) for e in log] == [("completed", ["two"]), ("failed", ["nine"])]
    assert log[0]["options"]["choices"] == [
        {"label": "accept", "tone": "one"},
        {"label": "decline", "tone": "two"},
    ]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_keys_of_other_participants_do_not_reach_the_recognize(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        target, other = call.members[1], call.members[2]
        await call.media.recognize(target, **PATIENT)
        await call.press(other, "7")
        await call.press(target, "3")
        name, completed = await outcome(sink)

    assert name == "RecognizeCompleted"
    assert completed.dtmf_result.tones == ["three"]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_cancel_and_the_target_leaving_end_a_recognize_with_recognize_canceled(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.recognize(call.members[1], operation_context="canceled", **PATIENT)
        await call.media.cancel_all()
        await sink.wait_for(lambda s: events_named(s, "/bot", "RecognizeCanceled"))
        await call.media.recognize(call.members[1], operation_context="left", **PATIENT)
        await leave(emulator, call.room_id, call.members[1])
        await sink.wait_for(lambda s: len(events_named(s, "/bot", "RecognizeCanceled")) == 2)
        log = await call.log()

    models = [parse_callback_event(e)[1] for e in events_named(sink, "/bot", "RecognizeCanceled")]
    assert [(m.operation_context, codes(m)) for m in models] == [
        ("canceled", (400, 8508)),
        ("left", (400, 8508)),
    ]
    assert [e["status"] for e in log] == ["canceled", "canceled"]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_an_interrupting_recognize_cancels_the_operations_its_target_hears(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.play(LONG_PROMPT, operation_context="everyone")
        await call.media.recognize(call.members[0], interrupt_call_media_operation=True, **PATIENT)
        await sink.wait_for(lambda s: events_named(s, "/bot", "PlayCanceled"))
        await call.press(call.members[0], "8")
        name, completed = await outcome(sink)
        log = await call.log()

    assert (name, completed.dtmf_result.tones) == ("RecognizeCompleted", ["eight"])
    assert [(e["kind"], e["status"]) for e in log] == [("play", "canceled"), ("recognize", "completed")]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_speech_recognition_is_refused_as_not_supported(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    async with scene(emulator, sink) as call:
        with pytest.raises(HttpResponseError) as raised:
            await call.media.recognize(call.members[0], "speech")
        assert await call.log() == []

    assert raised.value.status_code == 501
    assert raised.value.error is not None
    assert raised.value.error.code == "NotSupportedByEmulator"
    assert "recognizeInputType speech" in str(raised.value.error.message)


def body(target: object, input_type: str = "dtmf", **options: Any) -> dict[str, Any]:
    return {"recognizeInputType": input_type, "recognizeOptions": {"targetParticipant": target, **options}}


@pytest.mark.parametrize(
    ("make", "field"),
    [
        pytest.param(lambda t: body(None), "recognizeOptions.targetParticipant", id="no-target"),
        pytest.param(
            lambda t: body({"rawId": "8:acs:x"}), "recognizeOptions.targetParticipant", id="stranger"
        ),
        pytest.param(lambda t: body(t, "chant"), "recognizeInputType", id="unknown-type"),
        pytest.param(
            lambda t: body(t, initialSilenceTimeoutInSeconds=0),
            "recognizeOptions.initialSilenceTimeoutInSeconds",
            id="silence-0",
        ),
        pytest.param(
            lambda t: body(t, initialSilenceTimeoutInSeconds=301),
            "recognizeOptions.initialSilenceTimeoutInSeconds",
            id="silence-301",
        ),
        pytest.param(
            lambda t: body(t, dtmfOptions={"interToneTimeoutInSeconds": 61}),
            "recognizeOptions.dtmfOptions.interToneTimeoutInSeconds",
            id="inter-tone-61",
        ),
        pytest.param(
            lambda t: body(t, dtmfOptions={"maxTonesToCollect": 0}),
            "recognizeOptions.dtmfOptions.maxTonesToCollect",
            id="max-tones-0",
        ),
        pytest.param(
            lambda t: body(t, dtmfOptions={"stopTones": ["hash"]}),
            "recognizeOptions.dtmfOptions.stopTones[0]",
            id="unknown-stop-tone",
        ),
        pytest.param(lambda t: body(t, "choices"), "recognizeOptions.choices", id="choices-missing"),
        pytest.param(
            lambda t: body(t, "choices", choices=[{"label": "a", "phrases": [], "tone": "one"}] * 2),
            "recognizeOptions.choices[1].tone",
            id="choices-share-a-tone",
        ),
    ],
)
async def test_a_malformed_recognize_is_an_invalid_argument(
    emulator: RunningEmulator, sink: CallbackSink, make: Any, field: str
) -> None:
    async with scene(emulator, sink) as call:
        path = f"/calling/callConnections/{call.connection_id}:recognize{VERSION}"
        answer = await signed_request(emulator, "POST", path, make({"rawId": call.members[0]}))
        log = await call.log()

    assert answer.status == 400
    assert answer.body["error"]["code"] == "8523"
    assert answer.body["error"]["target"] == field
    assert log == []
