"""A receiver written as Microsoft's quickstarts write it, reading only ``body[0]`` of each
callback POST, gets every event of a call: ACS sends one event per POST."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from azure.communication.callautomation import FileSource

from emulator.server import RunningEmulator
from tests.conformance.call_helpers import EVENT_PREFIX, CallAutomationApi, control, received, settle
from tests.conformance.media_helpers import Media, file_server, wav_bytes
from tests.conformance.participant_helpers import live_call, set_faults, set_phone
from tests.support.callback_sink import CallbackSink, ReceivedPost

PHONE = "+14255550177"
FLOW = [
    "CallConnected",
    "ParticipantsUpdated",
    "AddParticipantSucceeded",
    "ParticipantsUpdated",
    "PlayStarted",
    "PlayCompleted",
    "RecognizeCompleted",
    "SendDtmfTonesCompleted",
    "CallDisconnected",
]


def first_element_receiver(sink: CallbackSink, path: str) -> list[str]:
    """What a quickstart's handler sees: ``event = request_body[0]``, the rest never read."""
    seen: list[str] = []

    async def handle(post: ReceivedPost) -> web.StreamResponse:
        event: dict[str, Any] = post.body[0]
        seen.append(str(event["type"]).removeprefix(EVENT_PREFIX))
        return web.Response()

    sink.respond(path, handle)
    return seen


async def flow(emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink) -> None:
    """Connect, add a phone, play to everyone, recognize a key from the phone, send it DTMF,
    hang up for everyone."""
    await set_phone(emulator, PHONE, answer="accept", answerAfterSeconds=1)
    live = await live_call(emulator, calls, sink, path="/quickstart")
    media = Media(calls, live.connection_id)
    await media.add_phone(PHONE)
    await sink.wait_for(received("/quickstart", "AddParticipantSucceeded"))
    async with file_server({"/hello.wav": wav_bytes(1.0)}) as base:
        await media.play([FileSource(url=f"{base}/hello.wav")])
        await sink.wait_for(received("/quickstart", "PlayCompleted"))
    await media.recognize("4:" + PHONE, initial_silence_timeout=300)
    pressed = await control(
        emulator, "POST", f"/emulator/rooms/{live.room_id}/participants/4:{PHONE}:dtmf", {"tones": "5"}
    )
    assert pressed.status == 200, pressed
    await sink.wait_for(received("/quickstart", "RecognizeCompleted"))
    await media.send_dtmf(["one", "two"], "4:" + PHONE)
    await sink.wait_for(received("/quickstart", "SendDtmfTonesCompleted"))
    await calls.hang_up(live.connection_id, is_for_everyone=True)
    await sink.wait_for(received("/quickstart", "CallDisconnected"))
    await settle(emulator)


async def test_a_receiver_reading_only_the_first_element_gets_every_event(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    seen = first_element_receiver(sink, "/quickstart")

    await flow(emulator, calls, sink)

    assert seen == FLOW
    assert [len(post.events) for post in sink.posts_to("/quickstart")] == [1] * len(FLOW)


async def test_with_batched_callbacks_such_a_receiver_loses_events(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    # The fault the emulator keeps for receiver tests: what such a receiver would miss.
    await set_faults(emulator, {"callbacks": {"batch": True}})
    seen = first_element_receiver(sink, "/quickstart")

    await flow(emulator, calls, sink)

    everything = [e["type"].removeprefix(EVENT_PREFIX) for e in sink.events("/quickstart")]
    assert everything == FLOW
    # CallConnected and its ParticipantsUpdated share a POST: the list never reaches it.
    assert seen[0] == "CallConnected"
    assert len(seen) < len(everything)
