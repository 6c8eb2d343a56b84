"""The call registry: forward-only call state from callback events, over a real store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.events import CallEvent, parse_callback_body
from bot.registry import CallRegistry
from bot.state import CallRecord, CallState, MemoryStateStore, SqliteStateStore, StateStore

CALL = "call-1"
ROOM = "99511289467351467"


class StepClock:
    """A clock that moves one second each time it is read: timestamps stay distinct and ordered."""

    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def event(
    event_type: str, data: dict[str, Any] | None = None, *, call: str = CALL, event_id: str | None = None
) -> CallEvent:
    element = {
        "id": event_id or f"{event_type}-{call}",
        "type": f"Microsoft.Communication.{event_type}",
        "source": f"calling/callConnections/{call}",
        "time": "2025-06-01T09:00:05+00:00",
        "data": {
            "callConnectionId": call,
            "serverCallId": f"server-{call}",
            "correlationId": "corr",
            **(data or {}),
        },
    }
    return parse_callback_body([element])[0]


def participants(sequence: int, *raw_ids: str, muted: bool = False) -> CallEvent:
    data = {
        "sequenceNumber": sequence,
        "participants": [{"identifier": {"rawId": raw_id}, "isMuted": muted} for raw_id in raw_ids],
    }
    return event("ParticipantsUpdated", data, event_id=f"pu-{sequence}-{len(raw_ids)}")


@pytest.fixture
async def store() -> AsyncIterator[StateStore]:
    memory = MemoryStateStore()
    yield memory
    await memory.close()


@pytest.fixture
def registry(store: StateStore) -> CallRegistry:
    return CallRegistry(store, clock=StepClock())


async def test_a_registered_call_is_live_and_connecting(registry: CallRegistry) -> None:
    record, early = await registry.register_connecting(ROOM, CALL, None, "corr")
    assert early == []

    assert record.state is CallState.CONNECTING
    assert record.room_id == ROOM
    assert await registry.get(CALL) == record
    assert await registry.live_calls() == [record]
    assert await registry.live_call_for_room(ROOM) == record


async def test_the_calls_correlation_id_from_its_events_replaces_the_connect_answers(
    registry: CallRegistry,
) -> None:
    # Real ACS answers a connect with a correlation id of that request; the events carry the call's.
    await registry.register_connecting(ROOM, CALL, None, "connect-request")
    connected = await registry.apply(event("CallConnected"))

    assert connected is not None
    assert connected.correlation_id == "corr"
    assert (await registry.get(CALL)) == connected


async def test_call_connected_then_participants(registry: CallRegistry) -> None:
    await registry.register_connecting(ROOM, CALL, None, None)
    connected = await registry.apply(event("CallConnected"))
    assert connected is not None
    assert connected.state is CallState.CONNECTED
    # Ids the connect answer did not have are filled from the events.
    assert connected.server_call_id == f"server-{CALL}"
    assert connected.correlation_id == "corr"

    updated = await registry.apply(participants(1, "8:acs:doctor", "4:+14255550123", muted=True))
    assert updated is not None
    assert [(p.raw_id, p.kind, p.is_muted) for p in updated.participants] == [
        ("8:acs:doctor", "communicationUser", True),
        ("4:+14255550123", "phoneNumber", True),
    ]


async def test_an_older_participants_update_cannot_roll_the_list_back(registry: CallRegistry) -> None:
    await registry.register_connecting(ROOM, CALL, None, None)
    await registry.apply(participants(3, "8:acs:doctor", "8:acs:patient", "4:+1555"))
    # Delivered late: sequence 2 came before 3 at the service.
    after_late = await registry.apply(participants(2, "8:acs:doctor"))
    # Delivered twice: the same sequence number changes nothing either.
    after_repeat = await registry.apply(participants(3, "8:acs:someone-else"))

    assert after_late is not None
    assert after_repeat is not None
    assert [p.raw_id for p in after_repeat.participants] == ["8:acs:doctor", "8:acs:patient", "4:+1555"]
    assert after_repeat.participants_sequence == 3

    newer = await registry.apply(participants(4, "8:acs:doctor"))
    assert newer is not None
    assert [p.raw_id for p in newer.participants] == ["8:acs:doctor"]


async def test_reordered_participant_updates_settle_on_the_newest(registry: CallRegistry) -> None:
    await registry.register_connecting(ROOM, CALL, None, None)
    updates = [participants(n, *[f"8:acs:p{i}" for i in range(n)]) for n in range(1, 8)]
    for update in [updates[4], updates[0], updates[6], updates[2], updates[5], updates[1], updates[3]]:
        await registry.apply(update)

    record = await registry.get(CALL)
    assert record is not None
    assert record.participants_sequence == 7
    assert len(record.participants) == 7


async def test_call_disconnected_ends_the_call_for_good(registry: CallRegistry) -> None:
    await registry.register_connecting(ROOM, CALL, None, None)
    await registry.apply(event("CallConnected"))
    await registry.apply(participants(1, "8:acs:doctor"))
    ended = await registry.apply(event("CallDisconnected"))

    assert ended is not None
    assert ended.state is CallState.DISCONNECTED
    assert ended.ended_at is not None
    assert await registry.live_calls() == []
    assert await registry.live_call_for_room(ROOM) is None

    # Late deliveries from before the end change nothing.
    await registry.apply(event("CallConnected", event_id="late-connected"))
    await registry.apply(participants(2, "8:acs:doctor", "8:acs:ghost"))
    final = await registry.get(CALL)
    assert final == ended


async def test_connect_failed_is_not_live(registry: CallRegistry) -> None:
    await registry.register_connecting(ROOM, CALL, None, None)
    failed = await registry.apply(
        event("ConnectFailed", {"resultInformation": {"code": 500, "subCode": 8510}})
    )

    assert failed is not None
    assert failed.state is CallState.FAILED
    assert failed.ended_at is not None
    assert await registry.live_calls() == []


async def test_every_event_lands_in_the_history_compactly(registry: CallRegistry) -> None:
    await registry.register_connecting(ROOM, CALL, None, None)
    await registry.apply(event("CallConnected", {"operationContext": "roombot:connect"}))
    await registry.apply(participants(2, "8:acs:a"))
    await registry.apply(participants(1, "8:acs:a"))
    play_failed = {"operationContext": "announce:1", "resultInformation": {"code": 400, "subCode": 8536}}
    await registry.apply(event("PlayFailed", play_failed))
    await registry.apply(event("SomethingNew"))

    history = await registry.history(CALL)
    assert [h["type"] for h in history] == [
        "CallConnected",
        "ParticipantsUpdated",
        "ParticipantsUpdated",
        "PlayFailed",
        "SomethingNew",
    ]
    assert history[0] == {
        "id": f"CallConnected-{CALL}",
        "type": "CallConnected",
        "time": "2025-06-01T09:00:05+00:00",
        "operationContext": "roombot:connect",
    }
    assert history[2]["ignored"] == "stale"
    assert "ignored" not in history[1]
    assert history[3]["resultCode"] == 400
    assert history[3]["resultSubCode"] == 8536
    assert await registry.history(CALL, limit=1) == [history[-1]]


async def test_events_for_an_unknown_call_are_recorded_nowhere(
    registry: CallRegistry, store: StateStore
) -> None:
    assert await registry.apply(event("CallConnected", call="stranger")) is None
    assert await registry.apply(participants(1, "8:acs:x")) is None

    assert await store.list_calls(live_only=False) == []
    assert await store.events("stranger") == []
    assert await store.events(CALL) == []


async def test_events_that_beat_the_connect_answer_are_handed_back_on_registration(
    registry: CallRegistry,
) -> None:
    # ACS may deliver CallConnected before the bot has the HTTP answer of its connect request.
    early = [event("CallConnected"), participants(1, "8:acs:doctor")]
    for held in early:
        assert await registry.apply(held) is None

    record, handed_back = await registry.register_connecting(ROOM, CALL, None, None)

    # Unapplied, in arrival order: the caller submits them to the dispatcher like any event.
    assert record.state is CallState.CONNECTING
    assert handed_back == early
    assert await registry.history(CALL) == []
    for held in handed_back:
        await registry.apply(held)
    applied = await registry.get(CALL)
    assert applied is not None
    assert applied.state is CallState.CONNECTED
    assert [p.raw_id for p in applied.participants] == ["8:acs:doctor"]
    assert [h["type"] for h in await registry.history(CALL)] == ["CallConnected", "ParticipantsUpdated"]
    # Handed back once: registering again returns none of them.
    assert (await registry.register_connecting(ROOM, CALL, None, None))[1] == []


async def test_registering_a_known_call_again_keeps_its_state(registry: CallRegistry) -> None:
    await registry.register_connecting(ROOM, CALL, None, None)
    await registry.apply(event("CallConnected"))

    again, early = await registry.register_connecting(ROOM, CALL, None, None)
    assert again.state is CallState.CONNECTED
    assert early == []


async def ended_by(registry: CallRegistry, room_or_call: str, server_call_id: str | None = None) -> list[str]:
    found = await registry.live_calls_ended_by(room_or_call, server_call_id=server_call_id)
    return [record.call_connection_id for record in found]


async def test_a_call_ended_names_calls_by_room_id_or_server_call_id(registry: CallRegistry) -> None:
    await registry.register_connecting("room-a", "call-a", "server-a", None)
    await registry.register_connecting("room-b", "call-b", "server-b", None)
    await registry.register_connecting("room-c", "call-c", "server-c", None)

    assert await ended_by(registry, "room-a") == ["call-a"]
    assert await ended_by(registry, "server-b") == ["call-b"]
    assert await ended_by(registry, "no-such-room") == []
    # Naming a call changes nothing: whether it is gone is for ACS to say.
    assert len(await registry.live_calls()) == 3


async def test_a_late_call_ended_spares_the_rooms_next_call(registry: CallRegistry) -> None:
    await registry.register_connecting(ROOM, "first", "server-1", None)
    await registry.apply(event("CallDisconnected", call="first"))
    await registry.register_connecting(ROOM, "second", "server-2", None)

    assert await ended_by(registry, ROOM, "server-1") == []
    assert await ended_by(registry, ROOM, "server-2") == ["second"]


async def test_a_call_ended_matches_by_room_while_the_server_call_id_is_unknown(
    registry: CallRegistry,
) -> None:
    await registry.register_connecting(ROOM, CALL, None, None)

    assert await ended_by(registry, ROOM, "server-x") == [CALL]


async def test_concurrent_registration_and_events_lose_nothing(registry: CallRegistry) -> None:
    _, (_, early), _ = await asyncio.gather(
        registry.apply(event("CallConnected")),
        registry.register_connecting(ROOM, CALL, None, None),
        registry.apply(participants(1, "8:acs:doctor")),
    )
    for held in early:
        await registry.apply(held)

    record = await registry.get(CALL)
    assert record is not None
    assert record.state is CallState.CONNECTED
    assert [p.raw_id for p in record.participants] == ["8:acs:doctor"]
    assert len(await registry.history(CALL)) == 2


async def test_a_restarted_bot_still_knows_its_live_calls(tmp_path: Path) -> None:
    path = tmp_path / "roombot.db"
    first_store = await SqliteStateStore.open(path)
    first = CallRegistry(first_store)
    await first.register_connecting(ROOM, CALL, None, None)
    await first.apply(event("CallConnected"))
    await first.apply(participants(5, "8:acs:doctor"))
    await first_store.close()

    second_store = await SqliteStateStore.open(path)
    try:
        second = CallRegistry(second_store)
        live = await second.live_call_for_room(ROOM)
        assert live is not None
        assert live.state is CallState.CONNECTED
        assert live.participants_sequence == 5
        # The sequence survived too: an older update after the restart is still refused.
        await second.apply(participants(4))
        after = await second.get(CALL)
        assert after is not None
        assert [p.raw_id for p in after.participants] == ["8:acs:doctor"]
    finally:
        await second_store.close()


class CountingStore(MemoryStateStore):
    """Counts how often the call record itself is written."""

    def __init__(self) -> None:
        super().__init__()
        self.record_writes = 0

    async def put_call_with_event(self, record: CallRecord, entry: dict[str, Any]) -> None:
        self.record_writes += 1
        await super().put_call_with_event(record, entry)


async def test_only_events_that_change_the_call_rewrite_its_record() -> None:
    store = CountingStore()
    registry = CallRegistry(store, clock=StepClock())
    await registry.register_connecting(ROOM, CALL, None, None)

    await registry.apply(event("CallConnected"))  # state, server call id, correlation id
    await registry.apply(participants(1, "8:acs:a"))
    await registry.apply(event("PlayCompleted", {"operationContext": "announce:1"}, event_id="p1"))
    await registry.apply(participants(2, "8:acs:a"))  # newer, same people: the sequence moves
    await registry.apply(participants(2, "8:acs:a"))  # the same update again: nothing moves
    await registry.apply(event("CallConnected", event_id="again"))

    assert store.record_writes == 3
    assert len(await registry.history(CALL)) == 6
    call = await registry.get(CALL)
    assert call is not None
    assert call.state is CallState.CONNECTED
    assert call.participants_sequence == 2
    assert call.server_call_id == f"server-{CALL}"
    assert call.correlation_id == "corr"
