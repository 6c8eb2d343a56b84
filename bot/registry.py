"""The call registry: room id <-> call connection id <-> server call id, kept from callback events.

State only moves forward. ACS documents no delivery order, so a ParticipantsUpdated older than the
one applied is ignored (by its sequence number), and a call that ended stays ended whatever arrives
late. ACS may also deliver an event before the HTTP answer of the request that caused it, i.e.
before `register_connecting` knows the call: such early events are held in memory for a short while
and replayed when the call is registered, instead of being lost.
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
    ParticipantsUpdated,
)
from bot.locks import KeyedLocks
from bot.state.base import CallRecord, CallState, ParticipantRecord, StateStore

# How long, and how many, events for a not-yet-registered call are held. The connect answer
# follows its first events within milliseconds; the caps only stop strangers' events piling up.
EARLY_EVENT_TTL_SECONDS = 30.0
EARLY_EVENT_LIMIT = 1000


def utc_now() -> datetime:
    return datetime.now(UTC)


def history_entry(event: CallEvent, received_at: datetime) -> dict[str, Any]:
    """The compact form of an event kept in a call's history."""
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
    return entry


class CallRegistry:
    def __init__(self, store: StateStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._clock = clock
        # Per-call locks: the dispatcher serializes one call's events, but `register_connecting`
        # and `end_room` come from HTTP handlers and may run at the same moment.
        self._locks = KeyedLocks()
        self._early: OrderedDict[str, tuple[float, CallEvent]] = OrderedDict()

    async def register_connecting(
        self,
        room_id: str,
        call_connection_id: str,
        server_call_id: str | None,
        correlation_id: str | None,
    ) -> CallRecord:
        """Record a call the bot just asked ACS to connect; replays events that arrived first."""
        async with self._locks[call_connection_id]:
            record = await self._store.get_call(call_connection_id)
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
            for event in self._take_early(call_connection_id):
                record = await self._apply_to(record, event)
            return record

    async def apply(self, event: CallEvent) -> CallRecord | None:
        """Update the call's record from one event; None (and nothing stored) for an unknown call."""
        async with self._locks[event.call_connection_id]:
            record = await self._store.get_call(event.call_connection_id)
            if record is None:
                self._hold_early(event)
                return None
            return await self._apply_to(record, event)

    async def _apply_to(self, record: CallRecord, event: CallEvent) -> CallRecord:
        updated = record.copy()
        stale = False
        if isinstance(event, CallConnected):
            if updated.state is CallState.CONNECTING:
                updated.state = CallState.CONNECTED
        elif isinstance(event, ParticipantsUpdated):
            stale = not updated.is_live or _is_older(event.sequence_number, updated.participants_sequence)
            if not stale:
                updated.participants = [
                    ParticipantRecord(raw_id=p.raw_id, kind=p.kind, is_muted=p.is_muted)
                    for p in event.participants
                ]
                if event.sequence_number is not None:
                    updated.participants_sequence = event.sequence_number
        elif isinstance(event, CallDisconnected):
            if updated.is_live:
                updated.state = CallState.DISCONNECTED
                updated.ended_at = self._clock()
        elif isinstance(event, ConnectFailed) and updated.is_live:
            updated.state = CallState.FAILED
            updated.ended_at = self._clock()
        updated.server_call_id = updated.server_call_id or event.server_call_id
        updated.correlation_id = updated.correlation_id or event.correlation_id
        if updated != record:
            await self._store.put_call(updated)
        entry = history_entry(event, self._clock())
        if stale:
            entry["ignored"] = "stale"
        await self._store.append_event(record.call_connection_id, entry)
        return updated

    def _hold_early(self, event: CallEvent) -> None:
        now = time.monotonic()
        while self._early and (
            len(self._early) >= EARLY_EVENT_LIMIT
            or next(iter(self._early.values()))[0] < now - EARLY_EVENT_TTL_SECONDS
        ):
            self._early.popitem(last=False)
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

    async def live_call_for_room(self, room_id: str) -> CallRecord | None:
        return await self._store.find_live_call_by_room(room_id)

    async def end_room(self, call_or_room_id: str, *, server_call_id: str | None = None) -> list[CallRecord]:
        """Finish the live calls that Event Grid's CallEnded names; returns those it ended.

        With one id, a live call matches by server call id or room id. With `server_call_id` too,
        a call matches by it, or by room only while its own server call id is unknown, so that a
        late CallEnded of an earlier call never ends the room's next one.
        """
        ended: list[CallRecord] = []
        for live in await self._store.list_calls(live_only=True):
            if not _ends(live, call_or_room_id, server_call_id):
                continue
            record = await self.finish(live.call_connection_id, "CallEnded")
            if record is not None:
                ended.append(record)
        return ended

    async def finish(self, call_connection_id: str, reason: str) -> CallRecord | None:
        """Mark a live call ended without a CallDisconnected (Event Grid's CallEnded, or ACS no
        longer knowing the call); ``reason`` is the history entry's type. None if not live."""
        async with self._locks[call_connection_id]:
            record = await self._store.get_call(call_connection_id)
            if record is None or not record.is_live:
                return None
            record.state = CallState.DISCONNECTED
            record.ended_at = self._clock()
            await self._store.put_call(record)
            await self._store.append_event(
                call_connection_id,
                {"id": None, "type": reason, "time": record.ended_at.isoformat(), "operationContext": None},
            )
            return record


def _ends(record: CallRecord, call_or_room_id: str, server_call_id: str | None) -> bool:
    if server_call_id is None:
        return call_or_room_id in (record.server_call_id, record.room_id)
    if record.server_call_id is not None:
        return record.server_call_id == server_call_id
    return record.room_id == call_or_room_id


def _is_older(sequence: int | None, applied: int | None) -> bool:
    # An update without a sequence number cannot be ordered; it is applied as it comes.
    return sequence is not None and applied is not None and sequence <= applied
