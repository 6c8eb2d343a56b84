"""A call's timeline: what a handler contributes to the picture the operator console draws.

The core draws what the call's event history tells (the call itself, who was in it when, the
events, recording state, end for everyone). A handler that knows more about its own work (an
announcement queued before it played, a dial-out ringing, the menu a participant is in) also
implements :class:`TimelineSource`; the console asks it for the items of one call. Each item sits
on a named lane, spans a time (or marks a moment), and may name the actions an operator can take
on it, as the ``/ops`` route that does it: the console offers them without knowing the handler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from bot.state.base import CallRecord

# Entries of a call's history (`bot.registry.history_entry`), oldest first.
History = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Segment:
    """A stretch of an item in one status (a dial-out ringing, an announcement queued)."""

    status: str
    start: datetime
    end: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "start": _iso(self.start), "end": _iso(self.end)}


@dataclass(frozen=True)
class Mark:
    """A moment on an item: a key pressed, an answer, a failure."""

    at: datetime
    label: str

    def to_json(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "label": self.label}


@dataclass(frozen=True)
class Action:
    """Something an operator may do to an item, as the route that does it (ops key)."""

    label: str
    method: Literal["POST", "DELETE"]
    path: str
    # What the confirmation step says happens.
    confirm: str

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "method": self.method, "path": self.path, "confirm": self.confirm}


@dataclass(frozen=True)
class TimelineItem:
    """One thing on a lane. ``end`` None: still going (or a moment, when ``point``)."""

    lane: str
    id: str
    label: str
    start: datetime
    end: datetime | None = None
    status: str | None = None
    detail: str = ""
    point: bool = False
    # Who it concerns: raw ids, "everyone", or nobody in particular (None).
    audience: tuple[str, ...] | Literal["everyone"] | None = None
    segments: tuple[Segment, ...] = ()
    marks: tuple[Mark, ...] = ()
    actions: tuple[Action, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "id": self.id,
            "label": self.label,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "status": self.status,
            "detail": self.detail,
            "point": self.point,
            "audience": list(self.audience) if isinstance(self.audience, tuple) else self.audience,
            "segments": [segment.to_json() for segment in self.segments],
            "marks": [mark.to_json() for mark in self.marks],
            "actions": [action.to_json() for action in self.actions],
        }


@runtime_checkable
class TimelineSource(Protocol):
    """A handler that draws its own work on a call's timeline (optional; see the module doc)."""

    async def timeline(self, call: CallRecord, history: History) -> Sequence[TimelineItem]:
        """The items of ``call``; ``history`` is the call's event history, oldest first."""


def moment(value: object) -> datetime | None:
    """A history entry's ISO time, or None when it has none that parses."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def tagged(history: History, prefix: str) -> list[Mapping[str, Any]]:
    """The entries whose operationContext starts with ``prefix``, oldest first."""
    return [entry for entry in history if str(entry.get("operationContext") or "").startswith(prefix)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
