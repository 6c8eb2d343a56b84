"""The call record and the protocol every state store implements.

A store keeps five kinds of state: call records (with a live-call index), each call's event
history, the ids of callback events already seen (duplicates are dropped), the inbox of verified
callback events not yet processed, and namespaced JSON documents that handlers own (dial-out
idempotency keys, menu positions). Everything a store returns is a fresh copy: mutating it changes
nothing stored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import orjson

# How long an event id is remembered for duplicate detection. ACS does not document its redelivery
# window; a day covers any retry of a 5-minute callback token many times over.
SEEN_EVENT_TTL_SECONDS = 24 * 60 * 60

# Events kept per call: a long call with media and DTMF emits a few hundred; older ones drop off.
DEFAULT_MAX_EVENTS = 1000

# How long a finished call (its record and history) is kept after it ended (`retention_days`).
DEFAULT_RETENTION_SECONDS = 7 * 24 * 60 * 60

# Rows (ids, history entries, calls) one housekeeping step removes at most: a step stays short
# (a few milliseconds) however much is due; the rest goes in the next steps.
HOUSEKEEPING_BATCH = 200


class StateStoreError(Exception):
    """The store cannot serve requests: closed, or its backend does not answer."""


class CallState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"

    @property
    def is_live(self) -> bool:
        return self in (CallState.CONNECTING, CallState.CONNECTED)


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    raw_id: str
    kind: str
    is_muted: bool = False
    is_on_hold: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "rawId": self.raw_id,
            "kind": self.kind,
            "isMuted": self.is_muted,
            "isOnHold": self.is_on_hold,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ParticipantRecord:
        return cls(
            raw_id=str(data["rawId"]),
            kind=str(data["kind"]),
            is_muted=bool(data["isMuted"]),
            # Absent from records stored before it was kept.
            is_on_hold=bool(data.get("isOnHold", False)),
        )


@dataclass(slots=True)
class CallRecord:
    """One call connection of the bot, in the shape the ops API shows (camelCase in JSON)."""

    call_connection_id: str
    room_id: str
    server_call_id: str | None
    state: CallState
    participants: list[ParticipantRecord]
    started_at: datetime
    ended_at: datetime | None = None
    correlation_id: str | None = None
    # Sequence number of the ParticipantsUpdated that set `participants`: older ones are ignored.
    participants_sequence: int | None = None

    @property
    def is_live(self) -> bool:
        return self.state.is_live

    def copy(self) -> CallRecord:
        # Spelled out rather than `dataclasses.replace`: a copy is made per event, and this is
        # several times faster.
        return CallRecord(
            self.call_connection_id,
            self.room_id,
            self.server_call_id,
            self.state,
            list(self.participants),
            self.started_at,
            self.ended_at,
            self.correlation_id,
            self.participants_sequence,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "callConnectionId": self.call_connection_id,
            "roomId": self.room_id,
            "serverCallId": self.server_call_id,
            "state": self.state.value,
            "participants": [p.to_dict() for p in self.participants],
            "startedAt": self.started_at.isoformat(),
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
            "correlationId": self.correlation_id,
            "participantsSequence": self.participants_sequence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallRecord:
        ended_at = data.get("endedAt")
        return cls(
            call_connection_id=str(data["callConnectionId"]),
            room_id=str(data["roomId"]),
            server_call_id=data.get("serverCallId"),
            state=CallState(data["state"]),
            participants=[ParticipantRecord.from_dict(p) for p in data.get("participants", [])],
            started_at=_aware(datetime.fromisoformat(data["startedAt"])),
            ended_at=_aware(datetime.fromisoformat(ended_at)) if ended_at else None,
            correlation_id=data.get("correlationId"),
            participants_sequence=data.get("participantsSequence"),
        )

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict()).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> CallRecord:
        return cls.from_dict(orjson.loads(text))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# What orjson would write although the standard library refuses it (datetimes, dataclasses) goes
# to the fallback below, which refuses it the same way in every store.
_DUMP_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dump_doc(doc: dict[str, Any]) -> str:
    """Serialize a document or event entry; a value JSON cannot hold raises TypeError (a NaN or
    infinity ValueError) in every store.

    orjson on the hot path (a history entry per event), the standard library's strict encoder
    for what orjson refuses (it may still accept it: an integer above 64 bits) and to tell a NaN
    from a None: orjson writes both as ``null``.
    """
    try:
        text = orjson.dumps(doc, option=_DUMP_OPTIONS)
    except TypeError:
        return _strict_dump(doc)
    if b"null" in text and _has_non_finite(doc):
        return _strict_dump(doc)
    return text.decode()


def _strict_dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)


def _has_non_finite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        items: Iterable[object] = value.values()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return False
    # Strings and Nones (most of an entry) without a call each: this runs for every entry with a None.
    return any(item is not None and not isinstance(item, str) and _has_non_finite(item) for item in items)


def load_doc(text: str | bytes) -> dict[str, Any]:
    # Parsing with orjson is safe: what the stores hold was written by dump_doc.
    loaded = orjson.loads(text)
    if not isinstance(loaded, dict):
        raise StateStoreError(f"stored document is not a JSON object: {type(loaded).__name__}")
    return loaded


def check_limit(limit: int | None) -> int | None:
    """Validate an `events(limit=)` argument: None for all, else a non-negative count."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    return limit


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """A verified callback event as the inbox keeps it: stored before ACS gets its answer, removed
    once every handler has processed it, so an event is processed at least once."""

    event_id: str
    call_connection_id: str
    # The CloudEvent as JSON, parsed again when the event is processed after a restart.
    body: str


class StateStore(Protocol):
    """Async state storage shared by the registry, the dispatcher's dedup and the handlers."""

    # True when other processes may write the same store at the same time (Redis).
    shared: bool

    async def put_call(self, record: CallRecord) -> None:
        """Insert or replace the record; the live index follows `record.state`."""

    async def get_call(self, call_connection_id: str) -> CallRecord | None:
        """The record, or None when the id was never stored."""

    async def list_calls(self, live_only: bool = True) -> list[CallRecord]:
        """Records ordered by `started_at`, oldest first; only live ones by default."""

    async def page_calls(
        self,
        *,
        limit: int,
        after: tuple[float, str] | None = None,
        room_prefix: str | None = None,
        live_only: bool = True,
    ) -> list[CallRecord]:
        """At most ``limit`` records in `list_calls` order, only those after ``after`` (the
        ``started_at`` timestamp and id of the last one of the page before) and of rooms whose id
        starts with ``room_prefix``. Reads only the page, not every record."""

    async def count_calls(self, *, room_prefix: str | None = None, live_only: bool = True) -> int:
        """How many records `page_calls` pages through, counted without reading them."""

    async def find_live_call_by_room(self, room_id: str) -> CallRecord | None:
        """The most recently started live call of the room, if any."""

    async def append_event(self, call_connection_id: str, entry: dict[str, Any]) -> None:
        """Add an entry to the call's history; the oldest entries drop beyond the store's cap.

        May return before the entry is durable (a write-behind): it is written before anything
        this process asks of the store afterwards (reads see it; `complete_events` of the event
        it came from fails rather than outlive a lost write, so the event is processed again)."""

    async def put_call_with_event(self, record: CallRecord, entry: dict[str, Any]) -> None:
        """`put_call(record)` and `append_event(record.call_connection_id, entry)` as one atomic
        write, deferred as `append_event` is."""

    async def events(self, call_connection_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The call's history, oldest first; with `limit`, only the newest `limit` entries."""

    async def mark_event_seen(self, event_id: str) -> bool:
        """True the first time an event id is marked (atomically, across concurrent callers)."""

    async def mark_events_seen(self, event_ids: Sequence[str]) -> set[str]:
        """Mark many ids at once (as `mark_event_seen` each): the ids marked for the first time."""

    async def ingest(self, events: Sequence[InboxEvent]) -> list[InboxEvent]:
        """Durably add to the inbox, atomically with the duplicate check, the events whose ids were
        never seen; return those, in order. An id repeated within `events` counts once."""

    async def complete_events(self, event_ids: Sequence[str]) -> None:
        """Take processed events out of the inbox (their ids stay seen); absent ids are ignored."""

    async def pending_events(
        self, call_connection_id: str | None = None, *, exclude: Collection[str] = ()
    ) -> list[InboxEvent]:
        """The inbox in arrival order: every call's events, or one call's; none of ``exclude``
        (the ones a reader has already, so that their bodies are not read again)."""

    async def pending_since(
        self, cursor: int, *, exclude: Collection[str] = ()
    ) -> tuple[list[InboxEvent], int]:
        """The inbox entries stored after ``cursor`` (0: all), oldest first, none of ``exclude``;
        and the cursor to pass next time. Entries become visible in the order of their cursor
        positions, so a reader that follows the cursor misses none."""

    async def housekeep(self, now: float | None = None) -> int:
        """One short step of housekeeping: forget expired event ids, and the calls (with their
        histories) that ended longer than the retention ago, at most `HOUSEKEEPING_BATCH` rows
        found through indexes; return how many went (repeat while it is not 0). ``now``: epoch
        seconds, for tests."""

    async def acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take the lease ``name`` for ``owner`` for ``ttl_seconds``, or extend it if ``owner``
        holds it already; False while someone else holds it. Atomic across processes."""

    async def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up, if ``owner`` still holds it (a lost lease is someone else's now)."""

    async def lease_owner(self, name: str) -> str | None:
        """Who holds the lease now, or None when it is free (or expired)."""

    async def get_doc(self, namespace: str, key: str) -> dict[str, Any] | None:
        """The document stored under (namespace, key), or None."""

    async def put_doc(self, namespace: str, key: str, doc: dict[str, Any]) -> None:
        """Store or replace a JSON document."""

    async def put_doc_if_absent(self, namespace: str, key: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Atomically store `doc` and return None if the key is free, else return the existing doc."""

    async def delete_doc(self, namespace: str, key: str) -> None:
        """Remove a document; removing an absent one is not an error."""

    async def list_docs(self, namespace: str) -> list[dict[str, Any]]:
        """Every document of the namespace, ordered by key."""

    def forget_cached(self) -> None:
        """Drop cached documents: called when this process starts leading, as others may have
        written meanwhile (see `bot.state.doccache`)."""

    def expect(self, open_callbacks: Callable[[], int]) -> None:
        """Be told how many callback POSTs are open: under such a load a store that commits in
        groups lets the writes that keep coming join one commit (`bot.state.grouped.gather`)."""

    async def ping(self) -> None:
        """Return when the store answers; raise StateStoreError otherwise."""

    async def close(self) -> None:
        """Release connections; the store cannot be used afterwards. Closing twice is harmless."""
