"""The inbox contract on every backend: durable intake of callback events, processed at least once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.state import InboxEvent, SqliteStateStore, StateStore


def event(n: int, call: str = "call-1") -> InboxEvent:
    return InboxEvent(f"evt-{n}", call, f'{{"id": "evt-{n}", "n": {n}}}')


async def test_ingest_keeps_new_events_in_arrival_order_and_drops_duplicates(store: StateStore) -> None:
    assert await store.ingest([event(1), event(2, "call-2"), event(3)]) == [
        event(1),
        event(2, "call-2"),
        event(3),
    ]
    # A redelivery and an id repeated within one body each count once.
    assert await store.ingest([event(2, "call-2"), event(4), event(4)]) == [event(4)]
    assert await store.pending_events() == [event(1), event(2, "call-2"), event(3), event(4)]
    assert await store.pending_events("call-1") == [event(1), event(3), event(4)]
    assert await store.pending_events("call-2") == [event(2, "call-2")]
    assert await store.pending_events("no-such-call") == []


async def test_completed_events_leave_the_inbox_but_stay_seen(store: StateStore) -> None:
    await store.ingest([event(1), event(2), event(3)])
    await store.complete_events(["evt-1", "evt-3", "never-ingested"])
    assert await store.pending_events() == [event(2)]
    assert await store.pending_events("call-1") == [event(2)]
    assert await store.ingest([event(1)]) == []
    assert await store.mark_event_seen("evt-3") is False
    await store.complete_events([])
    await store.complete_events(["evt-2", "evt-2"])
    assert await store.pending_events() == []


async def test_concurrent_deliveries_of_one_event_store_it_once(store: StateStore) -> None:
    results = await asyncio.gather(*(store.ingest([event(7)]) for _ in range(25)))
    assert sum(len(fresh) for fresh in results) == 1
    assert await store.pending_events() == [event(7)]


async def test_a_marked_event_id_is_not_ingested_and_vice_versa(store: StateStore) -> None:
    assert await store.mark_event_seen("evt-5") is True
    assert await store.ingest([event(5), event(6)]) == [event(6)]
    assert await store.mark_event_seen("evt-6") is False


async def test_a_large_body_is_ingested_whole(store: StateStore) -> None:
    many = [event(n, f"call-{n % 7}") for n in range(1000)]
    assert await store.ingest(many) == many
    assert len(await store.pending_events()) == 1000
    assert await store.pending_events("call-3") == [e for e in many if e.call_connection_id == "call-3"]


async def test_the_sqlite_inbox_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    first = await SqliteStateStore.open(path)
    await first.ingest([event(1), event(2)])
    await first.complete_events(["evt-1"])
    await first.close()
    second = await SqliteStateStore.open(path)
    try:
        assert await second.pending_events() == [event(2)]
        assert await second.ingest([event(1), event(2)]) == []
    finally:
        await second.close()


async def test_a_lease_has_one_holder_until_it_expires_or_is_released(store: StateStore) -> None:
    assert await store.lease_owner("room:1") is None
    assert await store.acquire_lease("room:1", "replica-a", 30) is True
    assert await store.acquire_lease("room:1", "replica-b", 30) is False
    assert await store.lease_owner("room:1") == "replica-a"
    # The holder extends it; someone else's release changes nothing.
    assert await store.acquire_lease("room:1", "replica-a", 30) is True
    await store.release_lease("room:1", "replica-b")
    assert await store.lease_owner("room:1") == "replica-a"
    await store.release_lease("room:1", "replica-a")
    assert await store.lease_owner("room:1") is None
    assert await store.acquire_lease("room:1", "replica-b", 30) is True


async def test_an_expired_lease_can_be_taken_over(store: StateStore) -> None:
    assert await store.acquire_lease("call:7", "replica-a", 0.05) is True
    await asyncio.sleep(0.12)
    assert await store.lease_owner("call:7") is None
    assert await store.acquire_lease("call:7", "replica-b", 30) is True
    # The old holder, back from a pause, cannot extend what it lost.
    assert await store.acquire_lease("call:7", "replica-a", 30) is False


async def test_concurrent_acquires_let_exactly_one_through(store: StateStore) -> None:
    results = await asyncio.gather(*(store.acquire_lease("room:9", f"replica-{n}", 30) for n in range(20)))
    assert results.count(True) == 1


async def test_a_cursor_reads_each_new_entry_once(store: StateStore) -> None:
    await store.ingest([event(1), event(2)])
    first, cursor = await store.pending_since(0)
    assert first == [event(1), event(2)]
    assert await store.pending_since(cursor) == ([], cursor)
    await store.ingest([event(3), event(4, "call-2")])
    # What the reader holds already is passed over, and still moves the cursor on.
    later, after = await store.pending_since(cursor, exclude={"evt-3"})
    assert later == [event(4, "call-2")]
    assert after > cursor
    assert await store.pending_since(after) == ([], after)
    await store.complete_events(["evt-1"])
    assert (await store.pending_since(0))[0] == [event(2), event(3), event(4, "call-2")]
