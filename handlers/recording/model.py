"""The ``recording`` handler's configuration and the record it keeps of each call's recording."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from config.prompts import Prompt

DEFAULT_CONSENT = "This call is being recorded."


class RecordingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_every_call: bool = Field(
        default=False,
        description="Record every call the bot joins; otherwise only rooms switched on through the API.",
    )
    consent: Prompt = Field(
        default_factory=lambda: Prompt(text=DEFAULT_CONSENT),
        description="What everyone hears before the recording starts (text, ssml or audioUrl).",
    )
    download_dir: Path | None = Field(
        default=None, description="When set, each recorded file is downloaded into this folder."
    )
    content_type: Literal["audio", "audioVideo"] = "audio"
    channel_type: Literal["mixed", "unmixed"] = "mixed"
    format_type: Literal["wav", "mp3", "mp4"] = "wav"
    keep_finished_days: float = Field(
        default=7.0, gt=0, description="How long the record of a finished recording is kept."
    )


class Status(StrEnum):
    # The consent prompt is playing; nothing is recorded yet.
    CONSENTING = "consenting"
    # Consent played; ACS was asked to record and has not said it is active yet.
    STARTING = "starting"
    ACTIVE = "active"
    PAUSED = "paused"
    # Stopped by the API or ended with the call; the file comes later through Event Grid.
    STOPPED = "stopped"
    FAILED = "failed"


LIVE = frozenset({Status.CONSENTING, Status.STARTING, Status.ACTIVE, Status.PAUSED})


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class RecordedFile(_Camel):
    """One chunk that RecordingFileStatusUpdated named, and where the bot saved it, if it did."""

    document_id: str
    index: int = 0
    content_location: str
    metadata_location: str | None = None
    delete_location: str | None = None
    downloaded_to: str | None = None


class CallRecording(_Camel):
    """What the handler knows of one call's recording; stored per call connection."""

    call_connection_id: str
    room_id: str
    server_call_id: str | None = None
    status: Status
    recording_id: str | None = None
    consent_played_at: datetime | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    duration_ms: int | None = None
    session_end_reason: str | None = None
    files: list[RecordedFile] = Field(default_factory=list)
    # Set once the file locations were posted to NOTIFY_URL: they are posted once.
    file_notified: bool = False
    error: str | None = None
    updated_at: datetime = Field(default_factory=utc_now)

    @property
    def live(self) -> bool:
        return self.status in LIVE

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> CallRecording:
        return cls.model_validate(doc)


class RecordingRefused(Exception):
    """A recording request that cannot be served now; ``reason`` names why (for the routes)."""

    def __init__(self, reason: Literal["no-call", "no-recording", "finished"], message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
