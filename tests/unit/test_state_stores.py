"""One contract, three backends (memory, SQLite, Redis), plus SQLite durability and URL parsing."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.state import (
    CallRecord,
    CallState,
    MemoryStateStore,
    ParticipantRecord,
    RedisStateStore,
    SqliteStateStore,
    StateStore,
    StateStoreError,
    open_store,
    sqlite_path,
)
from tests.unit.conftest import REDIS_URL, StoreFactory

T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def record(
    call_id: str,
    room_id: str = "room-1",
    *,
    state: CallState = CallState.CONNECTED,
    started_minutes: int = 0,
) -> CallRecord:
    return CallRecord(
        call_connection_id=call_id,
        room_id=room_id,
        server_call_id=f"server-{call_id}",
        state=state,
        participants=[
            ParticipantRecord(raw_id="8:acs:res_doctor", kind="communicationUser", is_muted=False),
            ParticipantRecord(raw_id="4:+14255550123", kind="phoneNumber", is_muted=True),
        ],
        started_at=T0 + timedelta(minutes=started_minutes),
        ended_at=None if state.is_live else T0 + timedelta(hours=1),
        correlation_id=f"corr-{call_id}",
    )


# --- calls -------------------------------------------------------------------------------------


async def test_a_call_record_reads_back_equal(store: StateStore) -> None:
    original = record("c1")
    original.participants_sequence = 7
    await store.put_call(original)

    assert await store.get_call("c1") == original
    assert await store.get_call("nobody") is None


async def test_live_list_follows_state_and_start_order(store: StateStore) -> None:
    await store.put_call(record("late", started_minutes=5))
    await store.put_call(record("early", started_minutes=1))
    await store.put_call(record("over", state=CallState.DISCONNECTED, started_minutes=3))
    await store.put_call(record("failed", state=CallState.FAILED, started_minutes=4))

    assert [r.call_connection_id for r in await store.list_calls()] == ["early", "late"]
    every = await store.list_calls(live_only=False)
    assert [r.call_connection_id for r in every] == ["early", "over", "failed", "late"]


async def test_a_call_that_ends_leaves_the_live_list(store: StateStore) -> None:
    live = record("c1", state=CallState.CONNECTING)
    await store.put_call(live)
    assert await store.find_live_call_by_room("room-1") == live

    live.state = CallState.DISCONNECTED
    live.ended_at = T0 + timedelta(minutes=30)
    await store.put_call(live)

    assert await store.list_calls() == []
    assert await store.find_live_call_by_room("room-1") is None
    assert await store.get_call("c1") == live


async def test_find_live_call_by_room_picks_the_newest_live_call_of_that_room(store: StateStore) -> None:
    await store.put_call(record("old", "room-1", started_minutes=1))
    await store.put_call(record("new", "room-1", started_minutes=2))
    await store.put_call(
        record("newest-but-ended", "room-1", state=CallState.DISCONNECTED, started_minutes=3)
    )
    await store.put_call(record("other", "room-2", started_minutes=4))

    found = await store.find_live_call_by_room("room-1")
    assert found is not None
    assert found.call_connection_id == "new"
    assert await store.find_live_call_by_room("room-9") is None


async def test_returned_records_are_copies(store: StateStore) -> None:
    await store.put_call(record("c1"))
    fetched = await store.get_call("c1")
    assert fetched is not None
    fetched.participants.clear()

    again = await store.get_call("c1")
    assert again is not None
    assert len(again.participants) == 2


# --- event history -----------------------------------------------------------------------------


async def test_history_is_oldest_first_and_limit_keeps_the_newest(store: StateStore) -> None:
    for n in range(5):
        await store.append_event("c1", {"id": f"e{n}", "type": "PlayCompleted", "resultCode": 200})
    await store.append_event("c2", {"id": "other", "type": "CallConnected"})

    assert [e["id"] for e in await store.events("c1")] == ["e0", "e1", "e2", "e3", "e4"]
    assert [e["id"] for e in await store.events("c1", limit=2)] == ["e3", "e4"]
    assert await store.events("c1", limit=0) == []
    assert await store.events("c1", limit=50) == await store.events("c1")
    assert await store.events("unknown") == []
    assert (await store.events("c1"))[0] == {"id": "e0", "type": "PlayCompleted", "resultCode": 200}


async def test_history_is_capped_dropping_the_oldest(store_factory: StoreFactory) -> None:
    store = await store_factory(max_events=3)
    for n in range(7):
        await store.append_event("c1", {"n": n})

    assert [e["n"] for e in await store.events("c1")] == [4, 5, 6]


async def test_put_call_with_event_writes_the_record_and_its_history_entry(store: StateStore) -> None:
    live = record("c1", state=CallState.CONNECTING)
    await store.put_call_with_event(live, {"id": "e1", "type": "CallConnected"})
    assert await store.get_call("c1") == live
    assert await store.find_live_call_by_room("room-1") == live
    assert await store.events("c1") == [{"id": "e1", "type": "CallConnected"}]

    live.state = CallState.DISCONNECTED
    live.ended_at = T0 + timedelta(minutes=9)
    await store.put_call_with_event(live, {"id": "e2", "type": "CallDisconnected"})
    await store.append_event("c1", {"id": "e3", "type": "PlayCompleted"})

    assert await store.get_call("c1") == live
    assert await store.list_calls() == []
    assert [e["id"] for e in await store.events("c1")] == ["e1", "e2", "e3"]


async def test_put_call_with_event_keeps_the_history_cap(store_factory: StoreFactory) -> None:
    store = await store_factory(max_events=2)
    for n in range(5):
        await store.put_call_with_event(record("c1", started_minutes=n), {"n": n})
    await store.append_event("c1", {"n": 5})

    assert [e["n"] for e in await store.events("c1")] == [4, 5]
    fetched = await store.get_call("c1")
    assert fetched == record("c1", started_minutes=4)


async def test_put_call_with_an_entry_json_cannot_hold_writes_nothing(store: StateStore) -> None:
    with pytest.raises(TypeError):
        await store.put_call_with_event(record("c1"), {"when": datetime.now(UTC)})
    assert await store.get_call("c1") is None
    assert await store.events("c1") == []


async def test_a_negative_history_limit_is_refused(store: StateStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.events("c1", limit=-1)


# --- duplicate detection -----------------------------------------------------------------------


async def test_an_event_id_is_seen_first_only_once(store: StateStore) -> None:
    assert await store.mark_event_seen("evt-1") is True
    assert await store.mark_event_seen("evt-1") is False
    assert await store.mark_event_seen("evt-2") is True


async def test_concurrent_marks_of_one_event_id_let_exactly_one_through(store: StateStore) -> None:
    results = await asyncio.gather(*(store.mark_event_seen("evt-dup") for _ in range(30)))
    assert results.count(True) == 1


async def test_a_batch_of_marks_returns_the_ids_seen_for_the_first_time(store: StateStore) -> None:
    assert await store.mark_event_seen("old") is True

    assert await store.mark_events_seen(["a", "old", "b", "a"]) == {"a", "b"}
    assert await store.mark_events_seen(["a", "b", "c"]) == {"c"}
    assert await store.mark_events_seen([]) == set()
    assert await store.mark_event_seen("c") is False


async def test_a_large_batch_of_marks_is_counted_exactly(store: StateStore) -> None:
    ids = [f"evt-{n}" for n in range(1500)]
    assert await store.mark_events_seen(ids[:700]) == set(ids[:700])
    assert await store.mark_events_seen(ids) == set(ids[700:])


async def test_concurrent_batches_let_each_event_id_through_once(store: StateStore) -> None:
    batches = [[f"evt-{(n + k) % 12}" for k in range(5)] for n in range(20)]
    results = await asyncio.gather(*(store.mark_events_seen(batch) for batch in batches))

    firsts = [event_id for result in results for event_id in result]
    assert sorted(firsts) == sorted(f"evt-{n}" for n in range(12))


async def test_concurrent_mixed_writes_all_land_once(store: StateStore) -> None:
    # Single statements racing a multi-statement write: none is lost or rolled back with another.
    results = await asyncio.gather(
        *(store.put_doc_if_absent("idem", "k", {"writer": n}) for n in range(10)),
        *(store.put_call_with_event(record(f"c{n}"), {"n": n}) for n in range(10)),
        *(store.mark_events_seen([f"evt-{n}", "shared"]) for n in range(10)),
    )

    assert results[:10].count(None) == 1
    assert len(await store.list_calls()) == 10
    for n in range(10):
        assert await store.events(f"c{n}") == [{"n": n}]
    marked = [event_id for result in results[20:] if isinstance(result, set) for event_id in result]
    assert sorted(marked) == sorted([f"evt-{n}" for n in range(10)] + ["shared"])


async def test_an_expired_mark_lets_a_batch_through_again(store_factory: StoreFactory) -> None:
    store = await store_factory(seen_ttl_seconds=0.05)
    assert await store.mark_events_seen(["e1", "e2"]) == {"e1", "e2"}
    await asyncio.sleep(0.3)
    assert await store.mark_events_seen(["e1", "e3"]) == {"e1", "e3"}


async def test_an_expired_mark_lets_the_event_id_through_again(store_factory: StoreFactory) -> None:
    store = await store_factory(seen_ttl_seconds=0.05)
    assert await store.mark_event_seen("evt-1") is True
    await asyncio.sleep(0.3)
    assert await store.mark_event_seen("evt-1") is True


# --- documents ---------------------------------------------------------------------------------


async def test_documents_round_trip_replace_and_delete(store: StateStore) -> None:
    assert await store.get_doc("dialouts", "a") is None
    await store.put_doc("dialouts", "a", {"status": "pending", "attempts": [1, 2], "meta": {"x": None}})
    assert await store.get_doc("dialouts", "a") == {
        "status": "pending",
        "attempts": [1, 2],
        "meta": {"x": None},
    }

    await store.put_doc("dialouts", "a", {"status": "ringing"})
    assert await store.get_doc("dialouts", "a") == {"status": "ringing"}

    await store.delete_doc("dialouts", "a")
    assert await store.get_doc("dialouts", "a") is None
    await store.delete_doc("dialouts", "never-there")


async def test_put_doc_if_absent_keeps_the_first_document(store: StateStore) -> None:
    assert await store.put_doc_if_absent("idem", "key-1", {"dialout": "d1"}) is None
    assert await store.put_doc_if_absent("idem", "key-1", {"dialout": "d2"}) == {"dialout": "d1"}
    assert await store.get_doc("idem", "key-1") == {"dialout": "d1"}


async def test_fifty_concurrent_put_doc_if_absent_store_exactly_one(store: StateStore) -> None:
    results = await asyncio.gather(
        *(store.put_doc_if_absent("idem", "same-key", {"writer": n}) for n in range(50))
    )

    winners = [n for n, result in enumerate(results) if result is None]
    assert len(winners) == 1
    stored = await store.get_doc("idem", "same-key")
    assert stored == {"writer": winners[0]}
    assert all(result == stored for result in results if result is not None)


async def test_namespaces_are_separate_and_listed_by_key(store: StateStore) -> None:
    await store.put_doc("menus", "b", {"k": "b"})
    await store.put_doc("menus", "a", {"k": "a"})
    await store.put_doc("dialouts", "a", {"k": "other"})

    assert await store.list_docs("menus") == [{"k": "a"}, {"k": "b"}]
    assert await store.list_docs("dialouts") == [{"k": "other"}]
    assert await store.list_docs("empty") == []
    assert await store.get_doc("menus", "a") == {"k": "a"}


async def test_returned_documents_are_copies(store: StateStore) -> None:
    await store.put_doc("ns", "k", {"items": [1]})
    fetched = await store.get_doc("ns", "k")
    assert fetched is not None
    fetched["items"].append(2)

    assert await store.get_doc("ns", "k") == {"items": [1]}


async def test_a_document_json_cannot_hold_is_refused(store: StateStore) -> None:
    with pytest.raises(TypeError):
        await store.put_doc("ns", "k", {"when": datetime.now(UTC)})
    with pytest.raises(ValueError, match="JSON"):
        await store.put_doc_if_absent("ns", "k", {"ratio": float("nan")})
    assert await store.get_doc("ns", "k") is None


async def test_documents_keep_what_json_holds_and_refuse_nan_anywhere(store: StateStore) -> None:
    doc = {"none": None, "ratio": 0.5, "big": 2**70, "nested": [{"n": 1, "empty": None}], "yes": True}
    await store.put_doc("ns", "kept", doc)
    assert await store.get_doc("ns", "kept") == doc

    for bad in ({"deep": [{"x": None, "y": float("nan")}]}, {"top": float("-inf")}):
        with pytest.raises(ValueError, match="JSON"):
            await store.put_doc("ns", "bad", bad)
    assert await store.get_doc("ns", "bad") is None


def test_a_record_copy_is_equal_and_shares_no_list() -> None:
    original = record("c1", state=CallState.DISCONNECTED)
    original.participants_sequence = 3
    # Every field set, none at its default: a field `copy` forgot would show here.
    assert all(getattr(original, f.name) != f.default for f in fields(CallRecord))

    copied = original.copy()
    assert copied == original
    assert {f.name: getattr(copied, f.name) for f in fields(CallRecord)} == {
        f.name: getattr(original, f.name) for f in fields(CallRecord)
    }
    copied.participants.append(ParticipantRecord(raw_id="8:acs:x", kind="communicationUser"))
    assert len(original.participants) == 2


# --- lifecycle ---------------------------------------------------------------------------------


async def test_ping_answers_until_closed(store: StateStore) -> None:
    await store.ping()
    await store.close()
    await store.close()

    with pytest.raises(StateStoreError):
        await store.ping()
    with pytest.raises(StateStoreError):
        await store.get_call("c1")
    with pytest.raises(StateStoreError):
        await store.mark_events_seen(["evt"])
    with pytest.raises(StateStoreError):
        await store.put_call_with_event(record("c1"), {"id": "e1"})


# --- SQLite durability and concurrency ---------------------------------------------------------


async def test_sqlite_keeps_everything_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "roombot.db"
    first = await SqliteStateStore.open(path)
    live = record("c1", "room-7")
    await first.put_call(live)
    await first.append_event("c1", {"id": "e1", "type": "CallConnected"})
    await first.mark_event_seen("e1")
    await first.put_doc("dialouts", "d1", {"status": "ringing"})
    await first.close()

    second = await SqliteStateStore.open(path)
    try:
        assert await second.list_calls() == [live]
        assert await second.find_live_call_by_room("room-7") == live
        assert await second.events("c1") == [{"id": "e1", "type": "CallConnected"}]
        assert await second.mark_event_seen("e1") is False
        assert await second.get_doc("dialouts", "d1") == {"status": "ringing"}
    finally:
        await second.close()


async def test_two_sqlite_stores_on_one_file_share_state_and_atomicity(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    one = await SqliteStateStore.open(path)
    two = await SqliteStateStore.open(path)
    try:
        await one.put_call(record("c1"))
        assert await two.get_call("c1") == record("c1")

        results = await asyncio.gather(
            *((one if n % 2 else two).put_doc_if_absent("idem", "k", {"writer": n}) for n in range(50))
        )
        assert results.count(None) == 1
        assert await one.mark_event_seen("evt") is True
        assert await two.mark_event_seen("evt") is False
        assert await two.mark_events_seen(["evt", "evt-2"]) == {"evt-2"}
        await two.put_call_with_event(record("c2"), {"id": "e1"})
        # Written behind: durable once the writer asks anything more of its store.
        await two.ping()
        assert await one.get_call("c2") == record("c2")
        assert await one.events("c2") == [{"id": "e1"}]
    finally:
        await one.close()
        await two.close()


async def test_sqlite_refuses_a_path_it_cannot_create(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises((StateStoreError, OSError)):
        await SqliteStateStore.open(blocker / "state.db")


# --- open_store --------------------------------------------------------------------------------


async def test_open_store_memory() -> None:
    store = await open_store("memory://")
    try:
        assert isinstance(store, MemoryStateStore)
        await store.ping()
    finally:
        await store.close()


async def test_open_store_sqlite_relative_and_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = await open_store("sqlite:///data/relative.db")
    absolute = await open_store(f"sqlite:///{tmp_path}/absolute.db")
    try:
        assert isinstance(relative, SqliteStateStore)
        assert isinstance(absolute, SqliteStateStore)
        await relative.put_doc("ns", "k", {"v": 1})
        await absolute.put_doc("ns", "k", {"v": 2})
    finally:
        await relative.close()
        await absolute.close()
    assert (tmp_path / "data" / "relative.db").exists()
    assert (tmp_path / "absolute.db").exists()


def test_sqlite_url_paths() -> None:
    assert sqlite_path("sqlite:///roombot.db") == "roombot.db"
    assert sqlite_path("sqlite:///var/lib/roombot.db") == "var/lib/roombot.db"
    assert sqlite_path("sqlite:////var/lib/roombot.db") == "/var/lib/roombot.db"
    with pytest.raises(ValueError, match="sqlite:///path"):
        sqlite_path("sqlite://")
    with pytest.raises(ValueError, match="sqlite:///path"):
        sqlite_path("sqlite://host/file.db")


@pytest.mark.parametrize("url", ["postgres://user:secret@db/roombot", "roombot.db", "mongodb://x"])
async def test_open_store_names_an_unsupported_scheme_and_hides_the_rest(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported state store URL scheme") as raised:
        await open_store(url)
    assert "secret" not in str(raised.value)
    assert "memory://" in str(raised.value)


@pytest.mark.redis
async def test_open_store_redis_connects_with_a_prefix() -> None:
    try:
        store = await open_store(REDIS_URL, redis_prefix="roombot-test-open:")
    except StateStoreError as exc:
        pytest.skip(f"no Redis answers at {REDIS_URL}: {exc}")
    try:
        assert isinstance(store, RedisStateStore)
        await store.ping()
    finally:
        await store.close()


async def test_redis_that_does_not_answer_fails_at_open() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    with pytest.raises(StateStoreError, match="does not answer"):
        await open_store("redis://127.0.0.1:1/0")


@pytest.mark.redis
async def test_an_exhausted_redis_pool_waits_then_fails_as_the_store() -> None:
    try:
        store = await RedisStateStore.connect(REDIS_URL, pool_size=1, pool_timeout=0.2)
    except StateStoreError as exc:
        print(f"skipping: no Redis answers at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis answers at {REDIS_URL}: {exc}")
    try:
        # The only connection is busy with a blocking read for a second.
        async def hold() -> None:
            await store._redis.blpop(["roombot-test:never"], timeout=1)

        blocking = asyncio.create_task(hold())
        await asyncio.sleep(0.05)
        with pytest.raises(StateStoreError, match="Redis state store failed"):
            await store.get_doc("ns", "k")
        await blocking
        assert await store.get_doc("ns", "k") is None
    finally:
        await store.close()


@pytest.mark.redis
async def test_a_redis_write_behind_the_server_refuses_does_not_block_later_ones(
    store_factory: StoreFactory,
) -> None:
    store = await store_factory()
    if not isinstance(store, RedisStateStore):
        pytest.skip("Redis only")
    # A key of the wrong type where the history goes: the server refuses the append.
    await store._redis.set(store._key("events", "broken"), "not a list")
    await store.append_event("broken", {"id": "e1"})
    with pytest.raises(StateStoreError):
        await store.events("broken")

    await store.append_event("fine", {"id": "e2"})

    assert await store.events("fine") == [{"id": "e2"}]


async def test_a_sqlite_file_of_the_previous_schema_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    # The calls table as files written before retention had it: no end time of its own.
    old.executescript(
        "CREATE TABLE calls (call_connection_id TEXT PRIMARY KEY, room_id TEXT NOT NULL,"
        " live INTEGER NOT NULL, started_ts REAL NOT NULL, record TEXT NOT NULL);"
        "CREATE INDEX calls_live_room ON calls (live, room_id, started_ts);"
    )
    over = record("over", state=CallState.DISCONNECTED)
    for call in (record("live"), over):
        old.execute(
            "INSERT INTO calls VALUES (?, ?, ?, ?, ?)",
            (
                call.call_connection_id,
                call.room_id,
                int(call.is_live),
                call.started_at.timestamp(),
                call.to_json(),
            ),
        )
    old.commit()
    old.close()

    store = await SqliteStateStore.open(path)
    try:
        assert await store.find_live_call_by_room("room-1") == record("live")
        assert await store.get_call("over") == over
        # Retention counts from its start: long past, so housekeeping forgets it.
        assert await store.housekeep() >= 1
        assert await store.get_call("over") is None
        assert await store.count_calls() == 1
    finally:
        await store.close()
