"""``GET /ops/calls/{callConnectionId}/timeline``: one call as the console draws it.

The answer is the call (with its participants' roles) and a list of items on lanes, on one time
axis: the call itself, each participant's time in it, the Call Automation events, recording state,
the end for everyone (who asked, the warning before a scheduled end), and what each handler that
is a `bot.timeline.TimelineSource` adds (announcements, menus, dial-outs). A handler that fails
to draw its part is logged and left out, with its name in ``unavailable``: the rest still shows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot import keys
from bot.calls import END_FAILED, END_REQUESTED
from bot.routes.ops import call_of
from bot.routes.views import call_json
from bot.state.base import CallRecord
from bot.timeline import History, Mark, Segment, TimelineItem, TimelineSource, moment

logger = logging.getLogger(f"roombot.{__name__}")

# History entries with their times, oldest first.
Dated = Sequence[tuple[datetime, Mapping[str, Any]]]
LIFECYCLE = {
    "CallConnected": "connected",
    "CallDisconnected": "disconnected",
    "ConnectFailed": "connect failed",
}

routes = web.RouteTableDef()


def _codes(entry: Mapping[str, Any]) -> str:
    codes = "/".join(str(entry[key]) for key in ("resultCode", "resultSubCode") if key in entry)
    return f" {codes}" if codes else ""


def event_label(entry: Mapping[str, Any]) -> str:
    """One event of the history in a few words: its type, result codes and details."""
    label = f"{entry.get('type', '?')}{_codes(entry)}"
    if entry.get("tones"):
        label += f" ({' '.join(str(tone) for tone in entry['tones'])})"
    if entry.get("participant"):
        label += f" {entry['participant']}"
    if entry.get("ignored"):
        label += f" [ignored: {entry['ignored']}]"
    return label


def _dated(history: History) -> list[tuple[datetime, Mapping[str, Any]]]:
    dated = []
    for entry in history:
        at = moment(entry.get("time"))
        if at is not None:
            dated.append((at, entry))
    return dated


def call_items(call: CallRecord, history: History) -> list[TimelineItem]:
    """The call's own lanes, from its record and event history."""
    dated = _dated(history)
    lifecycle = tuple(
        Mark(at, LIFECYCLE[str(entry["type"])] + _codes(entry))
        for at, entry in dated
        if entry.get("type") in LIFECYCLE
    )
    items = [
        TimelineItem(
            lane="call",
            id="call",
            label=f"Call in room {call.room_id}",
            start=call.started_at,
            end=call.ended_at,
            status=call.state.value,
            marks=lifecycle,
        ),
        TimelineItem(
            lane="events",
            id="events",
            label="Call Automation events",
            start=call.started_at,
            end=call.ended_at,
            marks=tuple(Mark(at, event_label(entry)) for at, entry in dated),
        ),
    ]
    items += participant_items(dated, call)
    items += recording_items(dated)
    items += end_items(dated)
    return items


def participant_items(dated: Dated, call: CallRecord) -> list[TimelineItem]:
    """Each participant's stay in the call, from the ParticipantsUpdated events that list them."""
    present: dict[str, datetime] = {}
    stays: list[tuple[str, datetime, datetime | None]] = []
    for at, entry in dated:
        listed = entry.get("participants")
        if entry.get("type") != "ParticipantsUpdated" or entry.get("ignored") or not isinstance(listed, list):
            continue
        now_in = {str(raw_id) for raw_id in listed}
        for raw_id in [raw_id for raw_id in present if raw_id not in now_in]:
            stays.append((raw_id, present.pop(raw_id), at))
        for raw_id in listed:
            present.setdefault(str(raw_id), at)
    stays += [(raw_id, since, call.ended_at) for raw_id, since in present.items()]
    return [
        TimelineItem(
            lane="participants",
            id=f"participant:{raw_id}:{index}",
            label=raw_id,
            start=since,
            end=until,
            status="in call" if until is None else "left",
            audience=(raw_id,),
        )
        for index, (raw_id, since, until) in enumerate(sorted(stays, key=lambda stay: stay[1]))
    ]


def recording_items(dated: Dated) -> list[TimelineItem]:
    """Recording state as RecordingStateChanged events reported it: active or inactive spans."""
    changes = [(at, str(entry["recordingState"])) for at, entry in dated if entry.get("recordingState")]
    segments = [
        Segment(state, at, changes[index + 1][0] if index + 1 < len(changes) else None)
        for index, (at, state) in enumerate(changes)
    ]
    if not segments:
        return []
    return [
        TimelineItem(
            lane="recording",
            id="recording",
            label="Recording",
            start=segments[0].start,
            end=segments[-1].start if segments[-1].status != "active" else None,
            status=segments[-1].status,
            segments=tuple(segments),
        )
    ]


def end_items(dated: Dated) -> list[TimelineItem]:
    items = []
    for at, entry in dated:
        kind = entry.get("type")
        if kind == END_REQUESTED:
            label, status = f"end for everyone asked by {entry.get('requestedBy', 'someone')}", "requested"
        elif kind == END_FAILED:
            label, status = f"end for everyone refused: {entry.get('resultMessage', '')}", "failed"
        elif kind == "CallDisconnected":
            label, status = "call ended" + _codes(entry), "ended"
        else:
            continue
        items.append(
            TimelineItem(
                lane="end", id=str(entry.get("id")), label=label, start=at, status=status, point=True
            )
        )
    return items


async def timeline_json(app: web.Application, call: CallRecord) -> dict[str, Any]:
    history = await app[keys.STORE].events(call.call_connection_id)
    items = call_items(call, history)
    unavailable = []
    for handler in app[keys.HANDLERS]:
        if not isinstance(handler, TimelineSource):
            continue
        try:
            items += await handler.timeline(call, history)
        except Exception:
            # A console must still show the rest; the failure is the handler's, with the call id.
            logger.exception("handler %s could not draw call %s", handler.name, call.call_connection_id)
            unavailable.append(handler.name)
    roles = await app[keys.ROLES].roles(call.room_id)
    items.sort(key=lambda item: item.start)
    return {
        "call": call_json(call, roles),
        "now": datetime.now(UTC).isoformat(),
        "items": [item.to_json() for item in items],
        "unavailable": unavailable,
    }


@routes.get("/ops/calls/{callConnectionId}/timeline")
async def timeline(request: web.Request) -> web.Response:
    request.app[keys.API_KEYS].require(request, "ops")
    return web.json_response(await timeline_json(request.app, await call_of(request)))
