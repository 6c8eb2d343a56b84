"""Audio files: downloaded when the play starts, played for their real length, and PlayFailed
with ACS's 8536 (download failed) or 8535 (bad format) when they cannot play."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.communication.callautomation import FileSource, TextSource

from emulator.calls.media.sources import DEFAULT_MP3_SECONDS
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallbackKeys,
    check_callbacks,
    events_named,
    names,
    parse_callback_event,
)
from tests.conformance.media_helpers import file_server, scene, wav_bytes
from tests.support.callback_sink import CallbackSink


@pytest.fixture
async def files() -> AsyncIterator[str]:
    async with file_server(
        {
            "/prompt.wav": wav_bytes(3.5),
            "/jingle.mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64,
            "/stereo.wav": wav_bytes(1.0, channels=2),
            "/hifi.wav": wav_bytes(1.0, rate=44100),
            "/broken.wav": b"RIFF\x24\x00\x00\x00WAVEjunk",
            "/page.html": b"<html><body>not audio</body></html>",
        }
    ) as base:
        yield base


def unreachable_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/gone.wav"


def outcome(sink: CallbackSink, name: str) -> Any:
    (event,) = events_named(sink, "/bot", name)
    return parse_callback_event(event)[1]


async def test_a_wav_file_plays_for_its_real_length(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys, files: str
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.play(FileSource(url=f"{files}/prompt.wav"), [call.members[0]])
        await sink.wait_for(lambda s: events_named(s, "/bot", "PlayCompleted"))
        (entry,) = await call.log()

    assert entry["durationSeconds"] == pytest.approx(3.5)
    assert entry["sources"] == [{"kind": "file", "file": {"uri": f"{files}/prompt.wav"}}]
    assert names(sink, "/bot")[-2:] == ["PlayStarted", "PlayCompleted"]
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_an_mp3_file_with_an_id3_tag_plays_for_the_default_length(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys, files: str
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.play([FileSource(url=f"{files}/jingle.mp3"), TextSource(text="x" * 30)])
        await sink.wait_for(lambda s: events_named(s, "/bot", "PlayCompleted"))
        (entry,) = await call.log()

    assert entry["durationSeconds"] == pytest.approx(DEFAULT_MP3_SECONDS + 2.0)
    check_callbacks(sink, keys, emulator.config.resource_id)


@pytest.mark.parametrize(
    ("path", "sub_code"),
    [
        pytest.param("/missing.wav", 8536, id="not-found"),
        pytest.param(None, 8536, id="unreachable"),
        pytest.param("/page.html", 8535, id="not-audio"),
        pytest.param("/broken.wav", 8535, id="broken-wav"),
        pytest.param("/stereo.wav", 8535, id="stereo-wav"),
        pytest.param("/hifi.wav", 8535, id="44khz-wav"),
    ],
)
async def test_a_file_that_cannot_play_fails_the_play_with_acs_codes(
    emulator: RunningEmulator,
    sink: CallbackSink,
    keys: CallbackKeys,
    files: str,
    path: str | None,
    sub_code: int,
) -> None:
    url = unreachable_url() if path is None else files + path
    async with scene(emulator, sink) as call:
        await call.media.play(
            [TextSource(text="Before the file"), FileSource(url=url)], operation_context="f"
        )
        await sink.wait_for(lambda s: events_named(s, "/bot", "PlayFailed"))
        (entry,) = await call.log()
        # The call's media is free again: the next play is not refused with 8500.
        await call.media.play(TextSource(text="Next"), operation_context="next")
        await sink.wait_for(lambda s: events_named(s, "/bot", "PlayCompleted"))

    failed = outcome(sink, "PlayFailed")
    assert (failed.result_information.code, failed.result_information.sub_code) == (400, sub_code)
    assert failed.failed_play_source_index == 1
    assert failed.operation_context == "f"
    # A play whose sources cannot all play never starts.
    assert [n for n in names(sink, "/bot") if n.startswith("Play")] == [
        "PlayFailed",
        "PlayStarted",
        "PlayCompleted",
    ]
    assert (entry["status"], entry["resultCode"], entry["resultSubCode"]) == ("failed", 400, sub_code)
    check_callbacks(sink, keys, emulator.config.resource_id)


async def test_a_prompt_that_cannot_play_fails_the_recognize_with_8511(
    emulator: RunningEmulator, sink: CallbackSink, keys: CallbackKeys, files: str
) -> None:
    async with scene(emulator, sink) as call:
        await call.media.recognize(call.members[1], play_prompt=FileSource(url=f"{files}/page.html"))
        await sink.wait_for(lambda s: events_named(s, "/bot", "RecognizeFailed"))
        (entry,) = await call.log()

    failed = outcome(sink, "RecognizeFailed")
    assert (failed.result_information.code, failed.result_information.sub_code) == (500, 8511)
    assert failed.failed_play_source_index == 0
    assert entry["status"] == "failed"
    check_callbacks(sink, keys, emulator.config.resource_id)
