"""Dial-outs on a call's timeline: each number's statuses over time, ACS's answers, and a cancel
action while it still rings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.timeline import Action, History, Mark, Segment, TimelineItem, moment, tagged
from handlers.dialout.model import DialOut, DialOutStatus, dialout_id_of

LANE = "dial-outs"
CANCEL_PATH = "/ops/dialouts/{id}"
EVENT_WORDS = {
    "AddParticipantSucceeded": "answered",
    "AddParticipantFailed": "not answered",
    "CancelAddParticipantSucceeded": "invitation cancelled",
    "CancelAddParticipantFailed": "cancel refused",
    "RemoveParticipantSucceeded": "removed from the call",
    "RemoveParticipantFailed": "removal refused",
}


def segments(dialout: DialOut) -> tuple[Segment, ...]:
    changes = [(DialOutStatus.PENDING, dialout.created_at)]
    changes += [(change.status, change.at) for change in dialout.status_history]
    if not dialout.status_history and dialout.status is not DialOutStatus.PENDING:
        # A record from before status changes were kept: its last change is all it tells.
        changes.append((dialout.status, dialout.updated_at))
    return tuple(
        Segment(status.value, at, None if index + 1 == len(changes) else changes[index + 1][1])
        for index, (status, at) in enumerate(changes)
    )


def _mark(entry: Mapping[str, Any]) -> Mark | None:
    at = moment(entry.get("time"))
    words = EVENT_WORDS.get(str(entry.get("type")))
    if at is None or words is None:
        return None
    codes = "/".join(str(entry[key]) for key in ("resultCode", "resultSubCode") if key in entry)
    return Mark(at, f"{words} {codes}".rstrip())


def item(dialout: DialOut, history: History) -> TimelineItem:
    marks = [
        mark
        for entry in tagged(history, "dialout:")
        if dialout_id_of(entry.get("operationContext")) == dialout.id and (mark := _mark(entry)) is not None
    ]
    detail = f"from {dialout.caller_id}"
    if dialout.confirm_with_dtmf:
        detail += ", confirmed by DTMF"
    if dialout.result is not None:
        codes = "/".join(str(code) for code in (dialout.result.code, dialout.result.sub_code) if code)
        detail += f"; {dialout.status.value}: {' '.join(filter(None, [codes, dialout.result.message]))}"
    actions: tuple[Action, ...] = ()
    if dialout.can_cancel and not dialout.cancel_requested:
        actions = (
            Action(
                label="Cancel dial-out",
                method="DELETE",
                path=CANCEL_PATH.format(id=dialout.id),
                confirm=f"Stop ringing {dialout.phone_number}? The invitation is cancelled at ACS.",
            ),
        )
    return TimelineItem(
        lane=LANE,
        id=f"dialout:{dialout.id}",
        label=dialout.phone_number,
        start=dialout.created_at,
        end=dialout.updated_at if dialout.is_final else None,
        status=dialout.status.value,
        detail=detail,
        audience=(dialout.participant_raw_id,) if dialout.participant_raw_id else None,
        segments=segments(dialout),
        marks=tuple(marks),
        actions=actions,
    )


def items(dialouts: Iterable[DialOut], history: History) -> list[TimelineItem]:
    return [item(dialout, history) for dialout in sorted(dialouts, key=lambda d: d.created_at)]
