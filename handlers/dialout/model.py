"""Dial-outs: the request a backend sends, the record the bot keeps, and its state machine.

A dial-out only moves forward: ``pending → ringing → connected → confirmed | declined``, or to
``failed`` / ``cancelled`` from any state that is not final. ACS documents no delivery order and
may post an event before answering the request that caused it, so every transition below is a
pure function that returns the new record, or None when the event no longer applies (late,
duplicate, or about a dial-out already finished): the caller then stores nothing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from config.phone import PhoneNumber
from config.prompts import Prompt
from config.values import JsonInt

# ACS rings an invited phone for at most 180 seconds (AddParticipantRequest.invitationTimeoutInSeconds).
RING_TIMEOUT_RANGE = (1, 180)
# Operations a dial-out starts carry `dialout:<id>` (its handler's prefix) as operationContext.
OPERATION_PREFIX = "dialout:"


def operation_context(dialout_id: str, action: str | None = None) -> str:
    return f"{OPERATION_PREFIX}{dialout_id}" + (f":{action}" if action else "")


def dialout_id_of(context: str | None) -> str | None:
    """``dialout:<id>`` or ``dialout:<id>:<action>`` → ``<id>``; None for other contexts."""
    if not context or not context.startswith(OPERATION_PREFIX):
        return None
    return context.removeprefix(OPERATION_PREFIX).split(":", 1)[0] or None


class DialOutStatus(StrEnum):
    PENDING = "pending"
    RINGING = "ringing"
    CONNECTED = "connected"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES

    @property
    def rank(self) -> int:
        """How far along a dial-out is; a transition never lowers it."""
        return _RANKS[self]


FINAL_STATUSES = frozenset(
    {DialOutStatus.CONFIRMED, DialOutStatus.DECLINED, DialOutStatus.FAILED, DialOutStatus.CANCELLED}
)
_RANKS = {
    DialOutStatus.PENDING: 0,
    DialOutStatus.RINGING: 1,
    DialOutStatus.CONNECTED: 2,
    **dict.fromkeys(FINAL_STATUSES, 3),
}


class _Camel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class DialOutRequest(_Camel):
    """The body of ``POST /api/rooms/{roomId}/dialouts``."""

    phone_number: PhoneNumber
    caller_id: PhoneNumber | None = None
    ring_timeout_seconds: JsonInt | None = Field(
        default=None, ge=RING_TIMEOUT_RANGE[0], le=RING_TIMEOUT_RANGE[1]
    )
    confirm_with_dtmf: bool = Field(default=False, strict=True)
    announcement: Prompt | None = None


def request_fingerprint(room_id: str, request: DialOutRequest) -> str:
    """A hash of what the request asks for: equal for bodies that mean the same dial-out.

    Hashed after validation, so defaults are filled in and numbers are in E.164: ``{"phoneNumber":
    "+1 425 555 0123"}`` and ``{"phoneNumber": "+14255550123", "confirmWithDtmf": false}`` match."""
    canonical = {"roomId": room_id, **request.model_dump(mode="json", by_alias=True)}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class DialOutResult(_Camel):
    """Why a dial-out ended without a confirmed participant: ACS's result when it gave one."""

    code: int | None = None
    sub_code: int | None = None
    message: str | None = None


# What GET, the POST answer and the notifications show; the other fields are the bot's own.
VIEW_FIELDS = frozenset(
    {
        "id",
        "room_id",
        "phone_number",
        "caller_id",
        "status",
        "call_connection_id",
        "participant_raw_id",
        "ring_timeout_seconds",
        "confirm_with_dtmf",
        "announcement",
        "cancel_requested",
        "created_at",
        "updated_at",
        "result",
    }
)


class StatusChange(_Camel):
    """A dial-out entered ``status`` at ``at`` (kept for its timeline; the API shows the last)."""

    status: DialOutStatus
    at: datetime


class DialOut(_Camel):
    id: str
    room_id: str
    call_connection_id: str
    phone_number: str
    caller_id: str
    ring_timeout_seconds: int | None = None
    confirm_with_dtmf: bool = False
    announcement: Prompt | None = None
    status: DialOutStatus = DialOutStatus.PENDING
    result: DialOutResult | None = None
    created_at: datetime
    updated_at: datetime
    participant_raw_id: str | None = None
    invitation_id: str | None = None
    # The Repeatability-Request-ID/-First-Sent of the invitation, fixed before the first attempt:
    # every resend, also after a restart, carries them so ACS never rings the phone twice.
    repeatability: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = None
    # An invitation request went out (its answer may have been lost): a cancel must then learn the
    # invitation id from ACS rather than assume the phone is not ringing.
    add_sent: bool = False
    cancel_requested: bool = False
    # The confirmation menu was asked for (guards against running it twice).
    menu_started: bool = False
    # The final outcome was posted to NOTIFY_URL (guards against posting it twice).
    notified: bool = False
    # Every status after ``pending`` and when it came; absent from records of older versions.
    status_history: list[StatusChange] = Field(default_factory=list)

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DialOut:
        return cls.model_validate(doc)

    def view(self) -> dict[str, Any]:
        """The JSON the API shows: camelCase, ``result`` only once there is one."""
        shown = self.model_dump(mode="json", by_alias=True, include=set(VIEW_FIELDS))
        if self.result is None:
            del shown["result"]
        if self.announcement is not None:
            shown["announcement"] = self.announcement.model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
        return shown

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    def _to(self, status: DialOutStatus, now: datetime, **changes: Any) -> DialOut:
        if status is not self.status:
            changes["status_history"] = [*self.status_history, StatusChange(status=status, at=now)]
        return self.model_copy(update={"status": status, "updated_at": now, **changes})

    # Transitions. Each returns the new record, or None when nothing changes.

    def invited(self, invitation_id: str | None, participant_raw_id: str, now: datetime) -> DialOut | None:
        """ACS accepted the invitation. Its answer may come after the participant joined."""
        if self.is_final:
            return None
        status = DialOutStatus.RINGING if self.status is DialOutStatus.PENDING else self.status
        return self._to(
            status,
            now,
            invitation_id=invitation_id or self.invitation_id,
            participant_raw_id=self.participant_raw_id or participant_raw_id,
        )

    def joined(self, participant_raw_id: str | None, now: datetime) -> DialOut | None:
        """AddParticipantSucceeded: the phone answered and is in the call."""
        if self.status.rank >= DialOutStatus.CONNECTED.rank:
            return None
        if self.cancel_requested:
            # The cancel lost the race with the answer: the caller removes the participant.
            status = DialOutStatus.CANCELLED
        elif self.confirm_with_dtmf:
            status = DialOutStatus.CONNECTED
        else:
            status = DialOutStatus.CONFIRMED
        return self._to(status, now, participant_raw_id=participant_raw_id or self.participant_raw_id)

    def add_failed(self, result: DialOutResult, now: datetime) -> DialOut | None:
        """AddParticipantFailed (busy, no answer, declined call...), or ACS refused the invitation."""
        if self.status.rank >= DialOutStatus.CONNECTED.rank:
            return None
        if self.cancel_requested:
            return self._to(DialOutStatus.CANCELLED, now)
        return self._to(DialOutStatus.FAILED, now, result=result)

    def cancelling(self, now: datetime) -> DialOut | None:
        """The backend asked to cancel; the caller checks `can_cancel` first."""
        if self.cancel_requested or not self.can_cancel:
            return None
        return self.model_copy(update={"cancel_requested": True, "updated_at": now})

    def cancel_refused(self, now: datetime) -> DialOut | None:
        """ACS refused to cancel the invitation (it was already answered or gone)."""
        if self.status is not DialOutStatus.RINGING or not self.cancel_requested:
            return None
        return self.model_copy(update={"cancel_requested": False, "updated_at": now})

    @property
    def can_cancel(self) -> bool:
        return self.status in (DialOutStatus.PENDING, DialOutStatus.RINGING)

    def cancelled(self, now: datetime) -> DialOut | None:
        """CancelAddParticipantSucceeded, or a cancel before anything was sent."""
        if self.is_final:
            return None
        return self._to(DialOutStatus.CANCELLED, now)

    def settled(self, confirmed: bool, now: datetime, reason: str | None = None) -> DialOut | None:
        """The confirmation menu's answer; only a connected dial-out waits for one."""
        if self.status is not DialOutStatus.CONNECTED:
            return None
        if confirmed:
            return self._to(DialOutStatus.CONFIRMED, now)
        result = DialOutResult(message=reason) if reason else None
        return self._to(DialOutStatus.DECLINED, now, result=result)

    def failed(self, message: str, now: datetime) -> DialOut | None:
        """The dial-out cannot complete (its call ended, its menu could not run...)."""
        if self.is_final:
            return None
        return self._to(DialOutStatus.FAILED, now, result=DialOutResult(message=message))

    def menu_starting(self, now: datetime) -> DialOut | None:
        if self.status is not DialOutStatus.CONNECTED or self.menu_started:
            return None
        return self.model_copy(update={"menu_started": True, "updated_at": now})

    def marked_notified(self) -> DialOut | None:
        return None if self.notified else self.model_copy(update={"notified": True})
