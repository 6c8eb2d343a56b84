"""The announcements API's shapes: the request body, its audience, and the stored announcement.

An audience is ``"everyone"``, ``"pstn"``, ``{"participants": [rawId, ...]}`` or
``{"roles": [role, ...]}``. It is parsed by hand rather than as a pydantic union, so that an error
names the field as the client wrote it (``to.roles[0]``) instead of every union member's guess.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from config.prompts import MAX_SSML_CHARS, MAX_TEXT_CHARS, Prompt

PSTN_PREFIX = "4:"
# Raw ids are short ("8:acs:<resource>_<guid>", "4:+14255550123"); the cap only stops abuse.
MAX_RAW_ID_CHARS = 256
AUDIENCE_SHAPES = '"everyone", "pstn", {"participants": [rawId, ...]} or {"roles": [role, ...]}'


class Role(StrEnum):
    PRESENTER = "Presenter"
    ATTENDEE = "Attendee"
    CONSUMER = "Consumer"
    COLLABORATOR = "Collaborator"


AudienceKind = Literal["everyone", "pstn", "participants", "roles"]
# Taken as written: a raw id with stray spaces is one nobody has, which `audience.resolve` says.
RawId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_RAW_ID_CHARS)]


class _Participants(BaseModel):
    model_config = ConfigDict(extra="forbid")
    participants: list[RawId] = Field(min_length=1)


class _Roles(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[Role] = Field(min_length=1)


@dataclass(frozen=True)
class Audience:
    """Who an announcement is for, as the client asked; see `handlers.announcements.audience.resolve`."""

    kind: AudienceKind
    participants: tuple[str, ...] = ()
    roles: tuple[Role, ...] = ()

    @property
    def targeted(self) -> bool:
        return self.kind != "everyone"

    def to_wire(self) -> str | dict[str, list[str]]:
        if self.kind == "participants":
            return {"participants": list(self.participants)}
        if self.kind == "roles":
            return {"roles": [role.value for role in self.roles]}
        return self.kind

    @classmethod
    def parse(cls, value: Any) -> Audience:
        """The audience of a wire value; raises ValidationError with paths relative to it."""
        if value in ("everyone", "pstn"):
            return cls(kind=value)
        if isinstance(value, dict) and "participants" in value:
            ids = _Participants.model_validate(value).participants
            # Order kept, duplicates dropped: ACS would refuse a playTo naming someone twice.
            return cls(kind="participants", participants=tuple(dict.fromkeys(ids)))
        if isinstance(value, dict) and "roles" in value:
            roles = _Roles.model_validate(value).roles
            return cls(kind="roles", roles=tuple(dict.fromkeys(roles)))
        raise PydanticCustomError("audience", "must be {shapes}", {"shapes": AUDIENCE_SHAPES})


EVERYONE = Audience(kind="everyone")


def _invalid(field: str, message: str, value: Any) -> ValidationError:
    """A validation error located at ``field`` (its JSON name), raised from a model validator."""
    error = PydanticCustomError("invalid_announcement", message)
    details: list[InitErrorDetails] = [{"type": error, "loc": (field,), "input": value}]
    return ValidationError.from_exception_data("AnnouncementRequest", details)


AudienceField = Annotated[
    Audience, PlainValidator(Audience.parse), PlainSerializer(Audience.to_wire, return_type=Any)
]
PROMPT_FIELDS = (("text", "text"), ("ssml", "ssml"), ("audio_url", "audioUrl"))


class AnnouncementRequest(BaseModel):
    """``POST /api/rooms/{roomId}/announcements``: one of text/ssml/audioUrl, and who hears it."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)
    ssml: str | None = Field(default=None, min_length=1, max_length=MAX_SSML_CHARS)
    audio_url: AnyHttpUrl | None = None
    voice: str | None = Field(default=None, min_length=1, max_length=100)
    locale: str | None = Field(default=None, min_length=2, max_length=20)
    to: AudienceField
    loop: StrictBool = False
    interrupt: StrictBool = False

    @model_validator(mode="after")
    def _check(self) -> AnnouncementRequest:
        given = [alias for name, alias in PROMPT_FIELDS if getattr(self, name) is not None]
        if not given:
            raise _invalid("text", "give exactly one of text, ssml, audioUrl", None)
        if len(given) > 1:
            message = f"give exactly one of text, ssml, audioUrl, not {' and '.join(given)}"
            raise _invalid(given[1], message, None)
        if self.interrupt and self.to.targeted:
            # ACS's interruptCallMediaOperation exists for play-to-all only.
            message = 'interrupt applies only to: "everyone"; a targeted announcement queues instead'
            raise _invalid("interrupt", message, True)
        return self

    def prompt(self) -> Prompt:
        fields: dict[str, Any] = {
            name: getattr(self, name) for name, _ in PROMPT_FIELDS if getattr(self, name) is not None
        }
        if self.voice is not None:
            fields["voice"] = self.voice
        if self.locale is not None:
            fields["locale"] = self.locale
        return Prompt.model_validate(fields)


class Status(StrEnum):
    QUEUED = "queued"
    PLAYING = "playing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def rank(self) -> int:
        """Statuses only move forward: queued, then playing, then one final status."""
        return {Status.QUEUED: 0, Status.PLAYING: 1}.get(self, 2)

    @property
    def is_final(self) -> bool:
        return self.rank == 2


@dataclass(frozen=True)
class Outcome:
    """ACS's result information for a finished announcement (from the event or the refusal)."""

    code: int | None = None
    sub_code: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class Announcement:
    """One announcement as stored (namespace ``announcements``) and shown by the API."""

    id: str
    room_id: str
    call_connection_id: str
    prompt: Prompt
    audience: Audience
    # The raw ids the play addresses, or None for play-to-all.
    targets: tuple[str, ...] | None
    loop: bool
    interrupt: bool
    status: Status
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: Outcome | None = None
    # When the play was last sent to ACS. ACS has no repeatability for play: a bot that stops
    # between sending and hearing back must not send again before it knows the first did not start.
    sent_at: datetime | None = None

    def moved_to(self, status: Status, at: datetime, outcome: Outcome | None = None) -> Announcement:
        """This announcement in ``status``, or unchanged when that would move it backwards."""
        if status.rank <= self.status.rank:
            return self
        return replace(
            self,
            status=status,
            started_at=at if status is Status.PLAYING else self.started_at,
            finished_at=at if status.is_final else None,
            outcome=outcome or self.outcome,
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "roomId": self.room_id,
            "callConnectionId": self.call_connection_id,
            "status": self.status.value,
            "to": list(self.targets) if self.targets is not None else "everyone",
            "audience": self.audience.to_wire(),
            "prompt": self.prompt.model_dump(mode="json", by_alias=True, exclude_none=True),
            "loop": self.loop,
            "interrupt": self.interrupt,
            "createdAt": self.created_at.isoformat(),
            "startedAt": self.started_at.isoformat() if self.started_at else None,
            "finishedAt": self.finished_at.isoformat() if self.finished_at else None,
            "sentAt": self.sent_at.isoformat() if self.sent_at else None,
        }
        if self.outcome is not None:
            doc["resultCode"] = self.outcome.code
            doc["resultSubCode"] = self.outcome.sub_code
            doc["resultMessage"] = self.outcome.message
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Announcement:
        to = doc["to"]
        has_outcome = any(key in doc for key in ("resultCode", "resultSubCode", "resultMessage"))
        return cls(
            id=str(doc["id"]),
            room_id=str(doc["roomId"]),
            call_connection_id=str(doc["callConnectionId"]),
            prompt=Prompt.model_validate(doc["prompt"]),
            audience=Audience.parse(doc["audience"]),
            targets=None if to == "everyone" else tuple(to),
            loop=bool(doc["loop"]),
            interrupt=bool(doc["interrupt"]),
            status=Status(doc["status"]),
            created_at=datetime.fromisoformat(doc["createdAt"]),
            started_at=_moment(doc.get("startedAt")),
            finished_at=_moment(doc.get("finishedAt")),
            sent_at=_moment(doc.get("sentAt")),
            outcome=Outcome(doc.get("resultCode"), doc.get("resultSubCode"), doc.get("resultMessage"))
            if has_outcome
            else None,
        )


class NoLiveCall(Exception):
    """The bot is in no connected call of the room."""


class AlreadyFinished(Exception):
    """A finished announcement cannot be cancelled."""

    def __init__(self, announcement: Announcement) -> None:
        super().__init__(f"announcement {announcement.id} is already {announcement.status.value}")
        self.announcement = announcement


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
