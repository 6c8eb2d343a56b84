"""What the ACS facade hands out: domain errors, call/participant/room snapshots, and the
translation from SDK objects and exceptions into them. Nothing here talks to the network."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Protocol, TypeVar

from azure.communication.callautomation import (
    CallConnectionProperties,
    CallParticipant,
    CommunicationIdentifier,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
    UnknownIdentifier,
)
from azure.communication.callautomation.aio import CallConnectionClient
from azure.communication.rooms import CommunicationRoom
from azure.core.exceptions import HttpResponseError, ResponseNotReadError

from bot.acs.retry import Headers, RetryPolicy, response_headers

T = TypeVar("T")


class ActionRunner(Protocol):
    """What the facade's parts (media, participants) use of the facade: one call connection's SDK
    client, and the retry policy with error translation that every logical action runs through."""

    def connection(self, call_connection_id: str) -> CallConnectionClient: ...

    def run_action(
        self,
        description: str,
        action: Callable[[Headers], Awaitable[T]],
        *,
        idempotent: bool = ...,
        repeatability: bool = ...,
        headers: Mapping[str, str] | None = ...,
    ) -> Awaitable[T]: ...


class AcsError(Exception):
    """ACS refused or failed an action. `status`/`code` are ACS's own when it answered."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class AcsNotFound(AcsError):
    """404: the call connection, participant or room does not exist (any more)."""


class AcsConflict(AcsError):
    """409: the action conflicts with the call's or room's current state."""


class AcsRejected(AcsError):
    """ACS answered with an error that retrying will not fix (400, 401, 403, 412...)."""

    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message, status=status, code=code)


class AcsUnavailable(AcsError):
    """ACS could not be reached, or stayed overloaded/failing through every retry."""


@dataclass(frozen=True)
class CallInfo:
    call_connection_id: str
    server_call_id: str | None
    state: str
    correlation_id: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class ParticipantInfo:
    raw_id: str
    # The wire kind: communicationUser, phoneNumber, microsoftTeamsUser, ... or unknown.
    kind: str
    is_muted: bool
    is_on_hold: bool = False


@dataclass(frozen=True)
class RoomInfo:
    id: str
    valid_from: datetime
    valid_until: datetime
    pstn_dial_out_enabled: bool
    created_at: datetime | None = None


def text_value(value: Any) -> str:
    """SDK enums (`CallConnectionState`, `ParticipantRole`) as their wire values."""
    return str(value.value if isinstance(value, Enum) else value)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def call_info(props: CallConnectionProperties) -> CallInfo:
    if not props.call_connection_id:
        raise AcsUnavailable("ACS answered without a callConnectionId")
    return CallInfo(
        call_connection_id=props.call_connection_id,
        server_call_id=props.server_call_id,
        state=text_value(props.call_connection_state or "unknown"),
        correlation_id=props.correlation_id,
        callback_url=props.callback_url,
    )


def participant_info(participant: CallParticipant) -> ParticipantInfo:
    identifier = participant.identifier
    return ParticipantInfo(
        raw_id=identifier.raw_id if identifier is not None else "",
        kind=_camel(text_value(identifier.kind)) if identifier is not None else "unknown",
        is_muted=bool(participant.is_muted),
        is_on_hold=bool(participant.is_on_hold),
    )


def room_info(room: CommunicationRoom) -> RoomInfo:
    return RoomInfo(
        id=str(room.id),
        valid_from=_datetime(room.valid_from),
        valid_until=_datetime(room.valid_until),
        pstn_dial_out_enabled=bool(room.pstn_dial_out_enabled),
        created_at=_datetime(room.created_at) if room.created_at is not None else None,
    )


INVALID_ROOM_ID = "Invalid room ID"


def translate_error(exc: BaseException, description: str, policy: RetryPolicy) -> AcsError:
    """The domain error for an SDK/transport failure that the retry policy gave up on."""
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        status = exc.status_code
        odata = exc.error
        code, message = (odata.code, odata.message) if odata is not None else _pascal_case_error(exc)
        code = code or response_headers(exc).get("x-ms-error-code")
        message = message or exc.reason or f"HTTP {status}"
        text = f"{description}: {message}"
        # ACS answers a room id of the wrong shape with 400 "Invalid room ID length." (Rooms and
        # a connect's room locator alike): no room can have that id, so it is a room not found.
        if status == 404 or (status == 400 and INVALID_ROOM_ID in message):
            return AcsNotFound(text, status=status, code=code)
        if status == 409:
            return AcsConflict(text, status=status, code=code)
        if status in policy.retry_statuses:
            return AcsUnavailable(text, status=status, code=code)
        return AcsRejected(status, code, text)
    return AcsUnavailable(f"{description}: ACS unreachable ({type(exc).__name__}: {exc})")


def _pascal_case_error(exc: HttpResponseError) -> tuple[str | None, str | None]:
    """Code and message of an error answer in the PascalCase shape azure-core does not read:
    Call Automation refuses a bad signature with 401 ``{"Error": {"Code": "7509", "Message":
    "HMAC-SHA256 validation failed", "Target": ...}}`` (as users of the real service report it,
    ``microsoft/call-center-ai#498``), which says more than the status line's "Unauthorized"."""
    try:
        body = json.loads(exc.response.text()) if exc.response is not None else None
    except (ValueError, TypeError, ResponseNotReadError):
        return None, None
    error = body.get("Error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("Code"), error.get("Message")
    return (str(code) if code else None), (str(message) if message else None)


def identifier(raw_id: str) -> CommunicationIdentifier:
    """The SDK identifier for a raw id: `8:acs:...` users, `4:+1...` phone numbers, else unknown."""
    if raw_id.startswith("4:"):
        return PhoneNumberIdentifier(raw_id[2:], raw_id=raw_id)
    if raw_id.startswith("8:acs:") or raw_id.startswith("8:spool:"):
        return CommunicationUserIdentifier(raw_id)
    return UnknownIdentifier(raw_id)
