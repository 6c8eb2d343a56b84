"""Menu sessions on a call's timeline: which menu, for whom, each try's keys, how it ended.

A session's record lives until its call ends; its tries are told by the Recognize events of the
call's history (operation context ``menus:<sessionId>:<try>``), so an ended call still shows its
sessions, if no longer their menu's name. Keys pressed outside menus (hotkeys, continuous DTMF)
show on one item per participant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.media.dtmf import to_keys
from bot.timeline import History, Mark, TimelineItem, moment, tagged
from handlers.menus.driver import parse_session_context
from handlers.menus.hotkeys import HOTKEY_CONTEXT
from handlers.menus.sessions import SessionRecord

LANE = "menus"
OUTCOMES = {8510: "no key pressed", 8532: "stopped mid-entry", 8511: "prompt failed"}


def _keys(entry: Mapping[str, Any]) -> str:
    try:
        return to_keys(str(tone) for tone in entry.get("tones") or [])
    except ValueError:
        return "?"


def try_mark(entry: Mapping[str, Any], at: datetime) -> Mark:
    parsed = parse_session_context(entry.get("operationContext"))
    number = f"try {parsed[1]}: " if parsed else ""
    kind = entry.get("type")
    if kind == "RecognizeCompleted":
        return Mark(at, f"{number}pressed {_keys(entry) or 'nothing'}")
    if kind == "RecognizeCanceled":
        return Mark(at, f"{number}cancelled")
    sub_code = entry.get("resultSubCode")
    return Mark(at, f"{number}{OUTCOMES.get(sub_code, 'failed') if isinstance(sub_code, int) else 'failed'}")


def items(
    records: Iterable[SessionRecord], history: History, ended_at: datetime | None
) -> list[TimelineItem]:
    marks: dict[str, list[Mark]] = {}
    first_seen: dict[str, datetime] = {}
    for entry in tagged(history, "menus:"):
        parsed = parse_session_context(entry.get("operationContext"))
        at = moment(entry.get("time"))
        if parsed is None or at is None or not str(entry.get("type", "")).startswith("Recognize"):
            continue
        marks.setdefault(parsed[0], []).append(try_mark(entry, at))
        first_seen.setdefault(parsed[0], at)
    found = []
    for record in records:
        updated = datetime.fromisoformat(record.updated_at)
        session = record.session
        where = session.menu
        if session.menu != record.start_menu:
            where += f" (from {record.start_menu})"
        detail = f"in menu {where}; {session.attempt} {'try' if session.attempt == 1 else 'tries'}"
        if session.last_entry:
            detail += f"; last entry {session.last_entry}"
        found.append(
            TimelineItem(
                lane=LANE,
                id=f"menu:{record.id}",
                label=f"menu {record.start_menu}",
                start=datetime.fromisoformat(record.created_at),
                end=None if record.running else updated,
                status=record.status,
                detail=detail,
                audience=(record.participant,),
                marks=tuple(marks.pop(record.id, [])),
            )
        )
    # Sessions whose records went with their call: their tries are all that is left.
    for session_id, session_marks in marks.items():
        found.append(
            TimelineItem(
                lane=LANE,
                id=f"menu:{session_id}",
                label="menu session",
                start=first_seen[session_id],
                end=session_marks[-1].at if ended_at is not None else None,
                detail=f"session {session_id}",
                marks=tuple(session_marks),
            )
        )
    return found + keypad_items(history)


def keypad_items(history: History) -> list[TimelineItem]:
    """Keys each participant pressed while hotkeys listened (continuous DTMF)."""
    prefix = f"menus:{HOTKEY_CONTEXT}:"
    presses: dict[str, list[Mark]] = {}
    for entry in tagged(history, prefix):
        at = moment(entry.get("time"))
        if at is None or entry.get("type") != "ContinuousDtmfRecognitionToneReceived":
            continue
        participant = str(entry["operationContext"]).removeprefix(prefix)
        presses.setdefault(participant, []).append(Mark(at, f"key {_keys(entry)}"))
    return [
        TimelineItem(
            lane=LANE,
            id=f"keys:{participant}",
            label="keys (hotkeys)",
            start=marks[0].at,
            end=marks[-1].at,
            audience=(participant,),
            marks=tuple(marks),
        )
        for participant, marks in presses.items()
    ]
