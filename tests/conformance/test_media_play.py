"""Play through the official SDK: audiences, sequences, loops, cancel, interrupt and the 8500
answer to overlapping media operations."""

from __future__ import annotations

from typing import Any

import pytest
from azure.communication.callautomation import SsmlSource, TextSource
from azure.core.exceptions import HttpResponseError

from emulator.config import DEV_COGNITIVE_SERVICES_ENDPOINT
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallbackKeys,
    ClientKind,
    check_callbacks,
    connection_id,
    events_named,
    leave,
    names,
    open_call_automation,
    parse_callback_event,
    received,
)
from tests.conformance.conftest import signed_request
from tests.conformance.media_helpers import Media, Scene, entry_named, scene
from tests.support.callback_sink import CallbackSink

# About 200 simulated seconds: still playing whenever a test looks.
LONG = TextSource(text="This announcement goes on and on. " * 90)
SHORT = TextSource(text="Hello everyone", source_locale="en-US", voice_name="en-US-JennyNeural")
VERSION = "?api-version=2026-03-12"


def result(event: dict[str, Any]) -> tuple[int, int]:
    info = parse_callback_event(event)[1].result_information
    return info.code, info.sub_code


def with_context(sink: CallbackSink, path: str, name: str, context: str) -> list[dict[str, Any]]:
    return [e for e in events_named(sink, path, name) if e["data"].get("operationContext") == context]


async def wait_for_event(sink: CallbackSink, path: str, name: str, context: str) -> dict[str, Any]:
    return await sink.wait_for(lambda s: next(iter(with_context(s, path, name, context)), None))


def media_names(sink: CallbackSink, path: str) -> list[str]:
    return [n for n in names(sink, path) if n.startswith("Play") or n.startswith("Recognize")]


async def test_a_play_to_everyone_starts_then_completes_and_is_logged(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys, kind: ClientKind
) -> None:
    async with scene(emulator, sink, kind) as call:
        await call.media.play(SHORT, operation_context="hello")

        completed = await wait_for_event(sink, "/bot", "PlayCompleted", "hello")
        log = await call.log()

    assert media_names(sink, "/bot") == ["PlayStarted", "PlayCompleted"]
    assert result(events_named(sink, "/bot", "PlayStarted")[0]) == (200, 0)
    assert result(completed) == (200, 0)
    assert completed["data"]["callConnectionId"] == call.connection_id
    (entry,) = log
    assert entry["kind"] == "play"
    assert entry["to"] == "everyone"
    assert entry["sources"] == [
        {
            "kind": "text",
            "text": {"text": "Hello everyone", "sourceLocale": "en-US", "voiceName": "en-US-JennyNeural"},
        }
    ]
    assert (entry["status"], entry["resultCode"], entry["resultSubCode"]) == ("completed", 200, 0)
    assert entry["operationContext"] == "hello"
    assert entry["loop"] is False
    assert entry["durationSeconds"] == 1.0  # 14 characters, but never under a second
    assert entry["requestedAt"] <= entry["endedAt"]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_plays_to_one_and_to_several_log_exactly_their_addressees(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys, kind: ClientKind
) -> None:
    async with scene(emulator, sink, kind) as call:
        presenter, attendee, consumer = call.members
        await call.media.play(SHORT, [consumer], operation_context="one")
        await call.media.play(SHORT, [attendee, presenter, attendee], operation_context="several")

        await wait_for_event(sink, "/bot", "PlayCompleted", "one")
        await wait_for_event(sink, "/bot", "PlayCompleted", "several")
        log = await call.log()

    assert entry_named(log, "one")["to"] == [consumer]
    assert entry_named(log, "several")["to"] == [attendee, presenter]
    assert {e["status"] for e in log} == {"completed"}
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_several_sources_play_one_after_the_other(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    ssml = (
        '<speak version="1.0" xml:lang="en-US"><voice name="en-US-JennyNeural">'
        'Fifteen chars!!<break time="1500ms"/></voice></speak>'
    )
    async with scene(emulator, sink) as call:
        await call.media.play(
            [TextSource(text="x" * 45), SsmlSource(ssml_text=ssml)], operation_context="seq"
        )
        await wait_for_event(sink, "/bot", "PlayCompleted", "seq")
        (entry,) = await call.log()

    # 45 characters at 15 a second, then 15 characters and a 1.5 s break.
    assert entry["durationSeconds"] == pytest.approx(3.0 + 1.0 + 1.5)
    assert [s["kind"] for s in entry["sources"]] == ["text", "ssml"]
    assert entry["sources"][1]["ssml"] == {"ssmlText": ssml}
    assert media_names(sink, "/bot") == ["PlayStarted", "PlayCompleted"]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_a_looping_play_runs_until_cancelled(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.play(SHORT, loop=True, operation_context="music")
        await wait_for_event(sink, "/bot", "PlayStarted", "music")
        # A second of text loops many times over while the test looks at it.
        await call.wait_log(lambda log: log[0]["status"] == "running")

        await call.media.cancel_all()
        canceled = await wait_for_event(sink, "/bot", "PlayCanceled", "music")
        (entry,) = await call.log()

    assert result(canceled) == (400, 8508)
    assert media_names(sink, "/bot") == ["PlayStarted", "PlayCanceled"]
    assert (entry["status"], entry["loop"], entry["resultSubCode"]) == ("canceled", True, 8508)
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_an_interrupting_play_to_everyone_cancels_what_runs(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.play(LONG, [call.members[2]], operation_context="targeted")
        await call.media.recognize(call.members[1], initial_silence_timeout=300, operation_context="menu")

        await call.media.play(SHORT, interrupt_call_media_operation=True, operation_context="urgent")
        await wait_for_event(sink, "/bot", "PlayCompleted", "urgent")
        log = await call.log()

    assert result(with_context(sink, "/bot", "PlayCanceled", "targeted")[0]) == (400, 8508)
    assert result(with_context(sink, "/bot", "RecognizeCanceled", "menu")[0]) == (400, 8508)
    assert [(e["operationContext"], e["status"]) for e in log] == [
        ("targeted", "canceled"),
        ("menu", "canceled"),
        ("urgent", "completed"),
    ]
    assert log[2]["options"] == {"interruptCallMediaOperation": True}
    check_callbacks(sink, keys, emulator.config.resource_id)


async def expect_8500(call: Scene, *, to: str | list[str] = "all", target: str | None = None) -> None:
    request = (
        call.media.play(SHORT, to)
        if target is None
        else call.media.recognize(target, initial_silence_timeout=300)
    )
    with pytest.raises(HttpResponseError) as raised:
        await request
    assert raised.value.status_code == 400
    assert raised.value.error is not None
    assert raised.value.error.code == "8500"


async def test_overlapping_audiences_answer_8500_and_disjoint_ones_play_together(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        presenter, attendee, consumer = call.members
        await call.media.play(LONG, [presenter], operation_context="first")

        await expect_8500(call)  # everyone includes the presenter
        await expect_8500(call, to=[attendee, presenter])
        await expect_8500(call, target=presenter)
        await call.media.play(LONG, [attendee], operation_context="disjoint")
        await call.media.recognize(consumer, initial_silence_timeout=300, operation_context="menu")
        await call.media.cancel_all()
        for context, event in (
            ("first", "PlayCanceled"),
            ("disjoint", "PlayCanceled"),
            ("menu", "RecognizeCanceled"),
        ):
            await wait_for_event(sink, "/bot", event, context)

        await call.media.play(LONG, operation_context="everyone")
        await expect_8500(call, to=[consumer])  # everyone overlaps everything
        await expect_8500(call, target=consumer)
        await call.media.cancel_all()
        await wait_for_event(sink, "/bot", "PlayCanceled", "everyone")
        log = await call.log()

    assert [e["operationContext"] for e in log] == ["first", "disjoint", "menu", "everyone"]
    assert {e["status"] for e in log} == {"canceled"}
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_events_go_to_the_operation_callback_uri_when_one_is_given(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.play(SHORT, operation_context="own", operation_callback_url=sink.url("/own"))
        await wait_for_event(sink, "/own", "PlayCompleted", "own")

    assert names(sink, "/own") == ["PlayStarted", "PlayCompleted"]
    assert media_names(sink, "/bot") == []
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_a_play_ends_when_its_addressees_leave_and_with_the_call(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        presenter, attendee, consumer = call.members
        await call.media.play(LONG, [attendee, consumer], operation_context="two")
        await call.media.play(LONG, [presenter], operation_context="stays")

        await leave(emulator, call.room_id, attendee)
        await call.wait_log(lambda log: len(log) == 2)
        assert with_context(sink, "/bot", "PlayCanceled", "two") == []
        await leave(emulator, call.room_id, consumer)
        canceled = await wait_for_event(sink, "/bot", "PlayCanceled", "two")
        assert result(canceled) == (400, 8508)
        assert entry_named(await call.log(), "two")["status"] == "canceled"

        await leave(emulator, call.room_id, presenter)
        await sink.wait_for(received("/bot", "CallDisconnected"))

    assert names(sink, "/bot")[-1] == "CallDisconnected"
    assert with_context(sink, "/bot", "PlayCanceled", "stays") == []
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_hanging_up_ends_the_connections_operations_without_events(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.play(LONG, operation_context="long")
        await wait_for_event(sink, "/bot", "PlayStarted", "long")
        await call.media.hang_up()
        await sink.wait_for(received("/bot", "CallDisconnected"))
        (entry,) = await call.log()
        async with open_call_automation(emulator, "async") as api:
            props = await api.connect(
                sink.url("/next"),
                room_id=call.room_id,
                cognitive_services_endpoint=DEV_COGNITIVE_SERVICES_ENDPOINT,
            )
            await sink.wait_for(received("/next", "CallConnected"))
            # The media is free: a play to everyone is not refused with 8500.
            await Media(api, connection_id(props)).play(SHORT, operation_context="next")
            await wait_for_event(sink, "/next", "PlayCompleted", "next")

    assert entry["status"] == "canceled"
    assert names(sink, "/bot")[-1] == "CallDisconnected"
    assert with_context(sink, "/bot", "PlayCanceled", "long") == []
    check_callbacks(sink, keys, emulator.config.resource_id)


@pytest.mark.parametrize(
    ("body", "target"),
    [
        pytest.param({}, "playSources", id="no-sources"),
        pytest.param({"playSources": []}, "playSources", id="empty-sources"),
        pytest.param({"playSources": [{"kind": "video"}]}, "playSources[0].kind", id="unknown-kind"),
        pytest.param(
            {"playSources": [{"kind": "text", "text": {}}]}, "playSources[0].text.text", id="no-text"
        ),
        pytest.param(
            {"playSources": [{"kind": "file", "file": {"uri": "file:///etc/passwd"}}]},
            "playSources[0].file.uri",
            id="not-http",
        ),
        pytest.param(
            {"playSources": [{"kind": "ssml", "ssml": {"ssmlText": " "}}]},
            "playSources[0].ssml.ssmlText",
            id="blank-ssml",
        ),
        pytest.param(
            {"playSources": [{"kind": "text", "text": {"text": "hi"}}], "playTo": [{"kind": "x"}]},
            "playTo[0]",
            id="identifier-without-raw-id",
        ),
        pytest.param(
            {
                "playSources": [{"kind": "text", "text": {"text": "hi"}}],
                "playTo": [{"rawId": "8:acs:stranger"}],
            },
            "playTo",
            id="not-in-the-call",
        ),
        pytest.param(
            {"playSources": [{"kind": "text", "text": {"text": "hi"}}], "playOptions": {"loop": "yes"}},
            "playOptions.loop",
            id="loop-not-a-boolean",
        ),
        pytest.param(
            {"playSources": [{"kind": "text", "text": {"text": "hi"}}], "operationCallbackUri": "nowhere"},
            "operationCallbackUri",
            id="bad-callback-uri",
        ),
    ],
)
async def test_a_malformed_play_is_an_invalid_argument_and_plays_nothing(
    emulator: RunningEmulator, sink: CallbackSink, body: dict[str, Any], target: str
) -> None:
    async with scene(emulator, sink) as call:
        path = f"/calling/callConnections/{call.connection_id}:play{VERSION}"
        answer = await signed_request(emulator, "POST", path, body)
        log = await call.log()

    assert answer.status == 400
    assert answer.body["error"]["code"] == "8523"
    assert answer.body["error"]["target"] == target
    assert log == []
