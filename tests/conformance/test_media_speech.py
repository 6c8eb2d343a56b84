"""Text-to-speech needs Azure AI services, through the official SDK: on a connection whose
connect named no `callIntelligenceOptions.cognitiveServicesEndpoint`, text and SSML prompts are
refused with 405/8522 (ACS's "Missing configuration"), file prompts play; the request log shows
the endpoint a connect named."""

from __future__ import annotations

from typing import Any

import pytest
from azure.communication.callautomation import FileSource, SsmlSource, TextSource
from azure.core.exceptions import HttpResponseError

from emulator.config import DEV_COGNITIVE_SERVICES_ENDPOINT
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import ClientKind, add_room, control, join, received
from tests.conformance.conftest import signed_request
from tests.conformance.media_helpers import file_server, scene, wav_bytes
from tests.conformance.review_helpers import acs_error
from tests.support.callback_sink import CallbackSink

MISSING = (405, "8522")
VERSION = "api-version=2026-03-12"
MESSAGE = "Request not allowed when Cognitive Service Configuration not set during call setup."


async def connects(emulator: RunningEmulator) -> list[dict[str, Any]]:
    answer = await control(emulator, "GET", "/emulator/requests")
    return [entry for entry in answer.body if entry["path"].endswith(":connect")]


@pytest.mark.parametrize(
    "source", [TextSource(text="Hello"), SsmlSource(ssml_text="<speak>Hello</speak>")], ids=["text", "ssml"]
)
async def test_without_ai_services_a_spoken_play_is_refused(
    emulator: RunningEmulator, sink: CallbackSink, kind: ClientKind, source: Any
) -> None:
    async with scene(emulator, sink, kind, cognitive_services_endpoint=None) as call:
        with pytest.raises(HttpResponseError) as refused:
            await call.media.play(source, operation_context="spoken")
        log = await call.log()

    assert acs_error(refused.value) == MISSING
    assert refused.value.error is not None
    assert refused.value.error.message == MESSAGE
    assert log == []
    (connect,) = await connects(emulator)
    assert "callIntelligenceOptions" not in connect["body"]


async def test_without_ai_services_a_recognize_with_a_spoken_prompt_is_refused(
    emulator: RunningEmulator, sink: CallbackSink, kind: ClientKind
) -> None:
    async with scene(emulator, sink, kind, cognitive_services_endpoint=None) as call:
        with pytest.raises(HttpResponseError) as refused:
            await call.media.recognize(call.members[1], play_prompt=TextSource(text="Press 1"))
        # Without a prompt there is nothing to speak: the recognize runs.
        await call.media.recognize(call.members[1], operation_context="silent")
        log = await call.log()

    assert acs_error(refused.value) == MISSING
    assert [(entry["kind"], entry["operationContext"]) for entry in log] == [("recognize", "silent")]


async def test_without_ai_services_a_file_plays(
    emulator: RunningEmulator, sink: CallbackSink, kind: ClientKind
) -> None:
    async with (
        file_server({"/a.wav": wav_bytes(0.5)}) as files,
        scene(emulator, sink, kind, cognitive_services_endpoint=None) as call,
    ):
        await call.media.play(FileSource(url=f"{files}/a.wav"), operation_context="file")
        await sink.wait_for(received("/bot", "PlayCompleted"))


async def test_the_request_log_shows_the_endpoint_a_connect_named(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.play(TextSource(text="Hello"), operation_context="spoken")
        await sink.wait_for(received("/bot", "PlayCompleted"))

    (connect,) = await connects(emulator)
    assert connect["body"]["callIntelligenceOptions"] == {
        "cognitiveServicesEndpoint": DEV_COGNITIVE_SERVICES_ENDPOINT
    }


@pytest.mark.parametrize(
    "options",
    [{"cognitiveServicesEndpoint": "not a url"}, "https://ai.example/"],
    ids=["endpoint-not-a-url", "options-not-an-object"],
)
async def test_a_malformed_endpoint_is_refused_with_8523(emulator: RunningEmulator, options: Any) -> None:
    body = {
        "callLocator": {"kind": "roomCallLocator", "roomId": "1"},
        "callbackUri": "https://bot.example/api/callbacks",
        "callIntelligenceOptions": options,
    }
    answer = await signed_request(
        emulator, "POST", "/calling/callConnections:connect?api-version=2026-03-12", body
    )
    assert answer.status == 400
    assert answer.body["error"]["code"] == "8523"


async def test_an_empty_endpoint_names_no_ai_services_the_connect_succeeds_and_text_is_refused(
    emulator: RunningEmulator, sink: CallbackSink
) -> None:
    # As Microsoft's JavaScript Rooms quickstart sends it with its .env left as shipped (the Python
    # SDK leaves an empty endpoint out, so the request is made by hand).
    room = add_room(emulator, ("Presenter",))
    await join(emulator, room.id, room.members[0])
    connect = {
        "callLocator": {"kind": "roomCallLocator", "roomId": room.id},
        "callbackUri": sink.url("/bot"),
        "callIntelligenceOptions": {"cognitiveServicesEndpoint": ""},
    }
    connected = await signed_request(emulator, "POST", f"/calling/callConnections:connect?{VERSION}", connect)
    await sink.wait_for(received("/bot", "CallConnected"))
    play = {"playSources": [{"kind": "text", "text": {"text": "Hello"}}]}
    path = f"/calling/callConnections/{connected.body['callConnectionId']}:play?{VERSION}"
    refused = await signed_request(emulator, "POST", path, play)

    assert connected.status == 200
    assert (refused.status, refused.body["error"]["code"]) == MISSING
