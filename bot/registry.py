"""The call registry: room id <-> call connection id <-> server call id, kept from callback events.

State only moves forward. ACS documents no delivery order, so a ParticipantsUpdated older than the
one applied is ignored (by its sequence number), and a call that ended stays ended whatever arrives
late. ACS may also deliver an event before the HTTP answer of the request that caused it, i.e.
before `register_connecting` knows the call: such early events are held in memory for a short while
and handed back, unapplied, when the call is registered, so that the caller submits them to the
dispatcher and they take the normal path (registry, media scheduler, handlers) exactly once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.events import (
    CallConnected,
    CallDisconnected,
    CallEvent,
    ConnectFailed,
    ContinuousDtmfRecognitionToneReceived,
    ParticipantResultEvent,
    ParticipantsUpdated,
    RecognizeCompleted,
)
from bot.locks import KeyedLocks
from bot.state.base import CallRecord, CallState, ParticipantRecord, StateStore

# How long, and how many, events for a not-yet-registered call are held. The connect answer
# follows its first events within milliseconds; the caps only stop strangers' events piling up.
EARLY_EVENT_TTL_SECONDS = 30.0
EARLY_EVENT_LIMIT = 1000
# Records kept in memory when this process is the store's only writer; the oldest go first.
RECORD_CACHE_LIMIT = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


def history_entry(event: CallEvent, received_at: datetime) -> dict[str, Any]:
    """The compact form of an event kept in a call's history (its time, else ``received_at``)."""
    entry: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "time": (event.time or received_at).isoformat(),
        "operationContext": event.operation_context,
    }
    if event.result is not None:
        if event.result.code is not None:
            entry["resultCode"] = event.result.code
        if event.result.sub_code is not None:
            entry["resultSubCode"] = event.result.sub_code
        if event.result.message:
            entry["resultMessage"] = event.result.message
    entry.update(_details(event))
    return entry


def _details(event: CallEvent) -> dict[str, Any]:
    """What an event says beyond its type, for timelines: who joined, which keys, which state."""
    if isinstance(event, ParticipantsUpdated):
        return {"participants": [p.raw_id for p in event.participants]}
    if isinstance(event, ParticipantResultEvent) and event.participant_raw_id:
        return {"participant": event.participant_raw_id}
    if isinstance(event, RecognizeCompleted):
        return {"tones": list(event.tones)}
    if isinstance(event, ContinuousDtmfRecognitionToneReceived) and event.tone:
        return {"tones": [event.tone]}
    if event.type == "RecordingStateChanged" and isinstance(event.data.get("state"), str):
        return {"recordingState": event.data["state"]}
    return {}


class CallRegistry:
    def __init__(
        self,
        store: StateStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        cache_records: bool = False,
    ) -> None:
        """``cache_records``: keep call records in memory, saving a store read per event. Only
        for a process that is the one writer of call records (one bot, or the leading replica,
        which calls `forget_cached` when its term begins)."""
        self._store = store
        self._clock = clock
        self._cache: OrderedDict[str, CallRecord] | None = OrderedDict() if cache_records else None
        # Per-call locks: the dispatcher serializes one call's events, but `register_connecting`
        # comes from HTTP handlers and may run at the same moment.
        self._locks = KeyedLocks()
        self._early: OrderedDict[str, tuple[float, CallEvent]] = OrderedDict()
        # Told of each early event given up on (its call never registered), so that the intake
        # can take it out of the inbox instead of replaying it at every start.
        self.on_discard: Callable[[CallEvent], None] | None = None

    async def register_connecting(
        self,
        room_id: str,
        call_connection_id: str,
        server_call_id: str | None,
        correlation_id: str | None,
    ) -> tuple[CallRecord, list[CallEvent]]:
        """Record a call the bot just asked ACS to connect.

        Returns the record and the events that arrived for it first, in arrival order and not yet
        applied: the caller must submit them to the dispatcher, which applies them like any other."""
        async with self._locks[call_connection_id]:
            record = await self._read(call_connection_id)
            if record is None:
                record = CallRecord(
                    call_connection_id=call_connection_id,
                    room_id=room_id,
                    server_call_id=server_call_id,
                    state=CallState.CONNECTING,
                    participants=[],
                    started_at=self._clock(),
                    correlation_id=correlation_id,
                )
                await self._store.put_call(record)
                self._remember(record)
            return record, self._take_early(call_connection_id)

    async def apply(self, event: CallEvent) -> CallRecord | None:
        """Update the call's record from one event; None (and nothing stored) for an unknown call."""
        call_id = event.call_connection_id
        # The dispatcher never applies two events of one call at once: the lock only keeps a
        # `register_connecting` of the same call out. A cached record with no such call under
        # way (the usual case) needs no lock.
        if self._cache is not None and call_id not in self._locks:
            cached = self._cache.get(call_id)
            if cached is not None:
                self._cache.move_to_end(call_id)
                return await self._apply_to(cached, event)
        async with self._locks[call_id]:
            # Not a copy: `_apply_to` only reads it, and answers with a copy of its own.
            record = await self._read(call_id, copy=False)
            if record is None:
                self._hold_early(event)
                return None
            return await self._apply_to(record, event)

    async def _apply_to(self, record: CallRecord, event: CallEvent) -> CallRecord:
        # Most events (media, tones, results) change nothing: then only the history grows.
        updated = record.copy()
        changed = False
        stale = False
        if isinstance(event, CallConnected):
            if updated.state is CallState.CONNECTING:
                updated.state = CallState.CONNECTED
                changed = True
        elif isinstance(event, ParticipantsUpdated):
            stale = not updated.is_live or _is_older(event.sequence_number, updated.participants_sequence)
            if not stale:
                participants = [
                    ParticipantRecord(
                        raw_id=p.raw_id, kind=p.kind, is_muted=p.is_muted, is_on_hold=p.is_on_hold
                    )
                    for p in event.participants
                ]
                sequence = updated.participants_sequence
                if event.sequence_number is not None:
                    sequence = event.sequence_number
                if participants != updated.participants or sequence != updated.participants_sequence:
                    updated.participants = participants
                    updated.participants_sequence = sequence
                    changed = True
        elif isinstance(event, CallDisconnected | ConnectFailed) and updated.is_live:
            ended = isinstance(event, CallDisconnected)
            updated.state = CallState.DISCONNECTED if ended else CallState.FAILED
            updated.ended_at = self._clock()
            changed = True
        if not updated.server_call_id and event.server_call_id:
            updated.server_call_id = event.server_call_id
            changed = True
        if event.correlation_id and event.correlation_id != updated.correlation_id:
            # The call's own id, which its events carry: the answer of a connect carries one of
            # that request instead (recorded live traffic, ``Azure/azure-sdk-assets``: the .NET
            # and Python Call Automation live tests that connect to a call).
            updated.correlation_id = event.correlation_id
            changed = True
        entry = history_entry(event, event.time or self._clock())
        if stale:
            entry["ignored"] = "stale"
        if changed:
            await self._store.put_call_with_event(updated, entry)
            self._remember(updated)
        else:
            await self._store.append_event(record.call_connection_id, entry)
        return updated

    def forget_cached(self) -> None:
        """Drop the cached records (and the store's cached documents): someone else may have
        written the store meanwhile."""
        if self._cache is not None:
            self._cache.clear()
        self._store.forget_cached()

    async def _read(self, call_connection_id: str, *, copy: bool = True) -> CallRecord | None:
        if self._cache is not None:
            cached = self._cache.get(call_connection_id)
            if cached is not None:
                self._cache.move_to_end(call_connection_id)
                return cached.copy() if copy else cached
        record = await self._store.get_call(call_connection_id)
        if record is not None:
            self._remember(record)
        return record

    def _remember(self, record: CallRecord) -> None:
        if self._cache is None:
            return
        self._cache[record.call_connection_id] = record.copy()
        self._cache.move_to_end(record.call_connection_id)
        while len(self._cache) > RECORD_CACHE_LIMIT:
            self._cache.popitem(last=False)

    def _hold_early(self, event: CallEvent) -> None:
        now = time.monotonic()
        while self._early and (
            len(self._early) >= EARLY_EVENT_LIMIT
            or next(iter(self._early.values()))[0] < now - EARLY_EVENT_TTL_SECONDS
        ):
            _, (_, dropped) = self._early.popitem(last=False)
            if self.on_discard is not None:
                self.on_discard(dropped)
        # Keyed by event id: a duplicate delivery of an early event is held once.
        self._early[event.id] = (now, event)

    def _take_early(self, call_connection_id: str) -> list[CallEvent]:
        cutoff = time.monotonic() - EARLY_EVENT_TTL_SECONDS
        taken = [
            (event_id, event)
            for event_id, (held_at, event) in self._early.items()
            if event.call_connection_id == call_connection_id and held_at >= cutoff
        ]
        for event_id, _ in taken:
            del self._early[event_id]
        return [event for _, event in taken]

    async def get(self, call_connection_id: str) -> CallRecord | None:
        return await self._store.get_call(call_connection_id)

    async def history(self, call_connection_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        return await self._store.events(call_connection_id, limit)

    async def live_calls(self) -> list[CallRecord]:
        return await self._store.list_calls(live_only=True)

    async def live_page(
        self, *, limit: int, after: tuple[float, str] | None = None, room_prefix: str | None = None
    ) -> list[CallRecord]:
        """A page of the live calls in start order (see `StateStore.page_calls`)."""
        return await self._store.page_calls(limit=limit, after=after, room_prefix=room_prefix)

    async def count_live(self, room_prefix: str | None = None) -> int:
        return await self._store.count_calls(room_prefix=room_prefix)

    async def live_call_for_room(self, room_id: str) -> CallRecord | None:
        return await self._store.find_live_call_by_room(room_id)

    async def live_calls_ended_by(
        self, call_or_room_id: str, *, server_call_id: str | None = None
    ) -> list[CallRecord]:
        """The live calls that an Event Grid CallEnded names (nothing is changed here).

        With one id, a live call matches by server call id or room id. With `server_call_id` too,
        a call matches by it, or by room only while its own server call id is unknown, so that a
        late CallEnded of an earlier call never names the room's next one.
        """
        return [
            live
            for live in await self._store.list_calls(live_only=True)
            if _ends(live, call_or_room_id, server_call_id)
        ]


def _ends(record: CallRecord, call_or_room_id: str, server_call_id: str | None) -> bool:
    if server_call_id is None:
        return call_or_room_id in (record.server_call_id, record.room_id)
    if record.server_call_id is not None:
        return record.server_call_id == server_call_id
    return record.room_id == call_or_room_id


def _is_older(sequence: int | None, applied: int | None) -> bool:
    # An update without a sequence number cannot be ordered; it is applied as it comes.
    return sequence is not None and applied is not None and sequence <= applied
