"""Recordings as the emulator keeps them, and their wire shapes.

Field names follow the REST spec (Call Automation 2026-03-12): ``RecordingStateResponse``
``{recordingId, recordingState, recordingKind}``, the ``RecordingStateChanged`` event, and the
``RecordingFileStatusUpdated`` Event Grid event with its ``recordingStorageInfo.recordingChunks``.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

RecordingState = Literal["active", "inactive"]
RECORDING_KIND = "azureCommunicationServices"
# ACS's defaults when the request leaves them out (the Call Recording concept page).
DEFAULT_CONTENT, DEFAULT_CHANNEL, DEFAULT_FORMAT = "audioVideo", "mixed", "mp4"
CONTENT_TYPES = ("audio", "audioVideo")
CHANNEL_TYPES = ("mixed", "unmixed")
FORMAT_TYPES = ("wav", "mp3", "mp4")


def new_recording_id(endpoint_id: str) -> str:
    """An opaque id shaped like ACS's: unpadded base64url of a compact JSON document naming the
    call connection the events name (recorded live events, ``Azure/azure-sdk-for-python``,
    ``tests/events/...test_start_recording_with_call_connection_id.event.json``:
    ``{"PlatformEndpointId":"<callConnectionId>","ResourceSpecificId":"<guid>"}``)."""
    document = {"PlatformEndpointId": endpoint_id, "ResourceSpecificId": str(uuid.uuid4())}
    text = json.dumps(document, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def new_document_id() -> str:
    # Shaped like the recorded ones: "0-wjp-d3-481beefc63df30f2c43e7334d30c8bd6".
    return f"0-emu-d1-{uuid.uuid4().hex}"


@dataclass
class Recording:
    id: str
    server_call_id: str
    room_id: str
    correlation_id: str
    # The connection it was started through, if it was.
    call_connection_id: str | None
    # The ``callConnectionId`` its events carry: the connection it was started through, or one
    # of the recording's own when it was started by server call (as recorded live).
    endpoint_id: str
    # Where RecordingStateChanged goes; None sends no state events.
    state_callback_uri: str | None
    content_type: str
    channel_type: str
    format_type: str
    created_at: datetime
    state: RecordingState = "inactive"
    # Real-time intervals during which the recording was active; the last may be open.
    active: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    session_end_reason: str | None = None
    # The api-version of the start request: the ``version`` of its events' data.
    api_version: str | None = None

    @property
    def stopped(self) -> bool:
        return self.ended_at is not None

    def state_response(self) -> dict[str, Any]:
        return {"recordingId": self.id, "recordingState": self.state, "recordingKind": RECORDING_KIND}

    def activate(self, now: datetime) -> bool:
        if self.state == "active" or self.stopped:
            return False
        self.state = "active"
        self.started_at = self.started_at or now
        self.active.append((now, None))
        return True

    def deactivate(self, now: datetime) -> bool:
        if self.state == "inactive":
            return False
        self.state = "inactive"
        start, _ = self.active[-1]
        self.active[-1] = (start, now)
        return True


@dataclass(frozen=True)
class Chunk:
    """One recorded file: what RecordingFileStatusUpdated names, what the locations serve."""

    document_id: str
    index: int
    recording: Recording
    # Length in simulated seconds, and the tones of the prompts that played in it.
    seconds: float
    tones: tuple[tuple[float, float], ...]
    # Base URL of the content locations (the emulator's own, or ``--recording-host``'s).
    base_url: str

    @property
    def content_path(self) -> str:
        return f"/v1/objects/{self.document_id}/content/audio"

    @property
    def metadata_path(self) -> str:
        return f"/v1/objects/{self.document_id}/content/acsmetadata"

    @property
    def delete_path(self) -> str:
        return f"/v1/objects/{self.document_id}"

    def wire(self) -> dict[str, Any]:
        return {
            "documentId": self.document_id,
            "index": self.index,
            "endReason": "SessionEnded",
            "contentLocation": self.base_url + self.content_path,
            "metadataLocation": self.base_url + self.metadata_path,
            "deleteLocation": self.base_url + self.delete_path,
        }

    def metadata(self, resource_id: str) -> dict[str, Any]:
        """The ``acsmetadata`` document (the recording metadata schema of the Call Recording docs)."""
        recording = self.recording
        return {
            "resourceId": resource_id,
            "callId": recording.correlation_id,
            "chunkDocumentId": self.document_id,
            "chunkIndex": self.index,
            "chunkStartTime": recording.started_at.isoformat() if recording.started_at else None,
            "chunkDuration": round(self.seconds * 1000),
            "pauseResumeIntervals": [],
            "recordingInfo": {
                "contentType": recording.content_type,
                "channelType": recording.channel_type,
                "format": recording.format_type,
                "audioConfiguration": {"sampleRate": 16000, "bitRate": 256000, "channels": 1},
            },
            "participants": [],
        }
