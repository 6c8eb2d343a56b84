"""Helpers for the recording conformance tests: the official client's recording methods, the
file event Event Grid delivers, and reading the WAV the emulator serves."""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass
from typing import Any

from azure.communication.callautomation import RecordingProperties

from emulator.server import RunningEmulator
from tests.conformance.call_helpers import EVENT_PREFIX, CallAutomationApi
from tests.conformance.conftest import RawAnswer, signed_request
from tests.conformance.review_helpers import on_client
from tests.support.callback_sink import CallbackSink

FILE_EVENT = EVENT_PREFIX + "RecordingFileStatusUpdated"
STATE_EVENT = EVENT_PREFIX + "RecordingStateChanged"
WAV_OPTIONS = {
    "recording_content_type": "audio",
    "recording_channel_type": "mixed",
    "recording_format_type": "wav",
}


async def start(calls: CallAutomationApi, **kwargs: Any) -> RecordingProperties:
    properties: RecordingProperties = await on_client(calls, "start_recording", **kwargs)
    return properties


def states(sink: CallbackSink, path: str) -> list[str]:
    """The ``state`` of every RecordingStateChanged received at ``path``, in order."""
    return [e["data"]["state"] for e in sink.events(path) if e.get("type") == STATE_EVENT]


def state_count(path: str, count: int) -> Any:
    return lambda sink: len(states(sink, path)) >= count


def file_events(sink: CallbackSink, path: str) -> list[dict[str, Any]]:
    return [e for e in sink.events(path) if e.get("eventType") == FILE_EVENT]


def has_file_event(path: str) -> Any:
    return lambda sink: file_events(sink, path)


def chunk_of(event: dict[str, Any]) -> dict[str, Any]:
    (chunk,) = event["data"]["recordingStorageInfo"]["recordingChunks"]
    assert isinstance(chunk, dict)
    return chunk


async def download(emulator: RunningEmulator, url: str, headers: dict[str, str] | None = None) -> RawAnswer:
    """A signed GET of a file location on the emulator, its body as bytes (plain http: the SDKs
    refuse such locations, see the TLS test for them)."""
    assert url.startswith(emulator.url), url
    return await signed_request(emulator, "GET", url.removeprefix(emulator.url), headers=headers, raw=True)


@dataclass(frozen=True)
class Wav:
    channels: int
    width: int
    rate: int
    samples: list[int]

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    def loud_seconds(self) -> float:
        """How long the file is not silent."""
        return sum(1 for s in self.samples if s) / self.rate


def read_wav(body: bytes) -> Wav:
    with wave.open(io.BytesIO(body), "rb") as audio:
        frames = audio.readframes(audio.getnframes())
        shape = (audio.getnchannels(), audio.getsampwidth(), audio.getframerate())
    samples = list(struct.unpack(f"<{len(frames) // 2}h", frames))
    return Wav(*shape, samples)
