"""Housekeeping of every store: expired event ids and finished calls go, in bounded steps."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from bot.state import CallRecord, CallState, InboxEvent, StateStore
from bot.state.base import HOUSEKEEPING_BATCH
from tests.unit.conftest import StoreFactory

DAY = 86_400.0


def record(call_id: str, *, ended: datetime | None, started: datetime) -> CallRecord:
    return CallRecord(
        call_connection_id=call_id,
        room_id="room-1",
        server_call_id=None,
        state=CallState.DISCONNECTED if ended else CallState.CONNECTED,
        participants=[],
        started_at=started,
        ended_at=ended,
    )


async def housekeep_all(store: StateStore, now: float) -> list[int]:
    steps: list[int] = []
    while (removed := await store.housekeep(now)) and len(steps) < 1000:
        steps.append(removed)
    return steps


async def test_an_expired_event_id_is_forgotten_and_counts_as_new_again(store_factory: StoreFactory) -> None:
    store = await store_factory(seen_ttl_seconds=0.2)
    ids = [f"e{i}" for i in range(HOUSEKEEPING_BATCH * 2 + 10)]
    assert await store.mark_events_seen(ids) == set(ids)
    assert await store.mark_events_seen(ids[:3]) == set()

    steps = await housekeep_all(store, time.time() + 1)

    # Each step is bounded; together they covered every id (Redis forgets them by itself).
    assert all(removed <= HOUSEKEEPING_BATCH for removed in steps)
    fresh = [InboxEvent(event_id, "c1", "{}") for event_id in ids[:3]]
    await asyncio.sleep(0.25)
    assert [event.event_id for event in await store.ingest(fresh)] == ids[:3]


async def test_a_live_id_survives_housekeeping(store: StateStore) -> None:
    assert await store.mark_event_seen("kept")

    await housekeep_all(store, time.time())

    assert not await store.mark_event_seen("kept")


async def test_finished_calls_and_their_histories_go_after_the_retention(store_factory: StoreFactory) -> None:
    store = await store_factory(retention_seconds=7 * DAY)
    now = datetime.now(UTC)
    old = record("old", started=now - timedelta(days=9), ended=now - timedelta(days=8))
    recent = record("recent", started=now - timedelta(days=2), ended=now - timedelta(days=1))
    live = record("live", started=now - timedelta(days=30), ended=None)
    for call in (old, recent, live):
        await store.put_call(call)
        for n in range(3):
            await store.append_event(call.call_connection_id, {"n": n})

    await housekeep_all(store, now.timestamp())

    assert await store.get_call("old") is None
    assert await store.events("old") == []
    assert await store.get_call("recent") == recent
    assert len(await store.events("recent")) == 3
    # A live call is never forgotten, however long it runs.
    assert await store.get_call("live") == live
    assert [c.call_connection_id for c in await store.list_calls(live_only=False)] == ["live", "recent"]
    assert await store.count_calls(live_only=False) == 2


async def test_a_long_history_of_a_forgotten_call_goes_over_several_steps(
    store_factory: StoreFactory,
) -> None:
    store = await store_factory(retention_seconds=60.0, max_events=5000)
    now = datetime.now(UTC)
    await store.put_call(record("long", started=now - timedelta(hours=3), ended=now - timedelta(hours=2)))
    for n in range(HOUSEKEEPING_BATCH * 2 + 1):
        await store.append_event("long", {"n": n})

    steps = await housekeep_all(store, now.timestamp())

    assert all(removed <= HOUSEKEEPING_BATCH for removed in steps)
    assert await store.get_call("long") is None
    assert await store.events("long") == []
