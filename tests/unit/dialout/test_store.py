"""Dial-out records do not make every call's end slower: a call's unfinished dial-outs are found
through a per-call index, and finished ones are forgotten after the retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.state import MemoryStateStore
from handlers.dialout.model import DialOut
from handlers.dialout.store import DIALOUTS, DialOutStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class CountingStore(MemoryStateStore):
    """Counts the dial-out records read, one by one or listed."""

    def __init__(self) -> None:
        super().__init__()
        self.records_read = 0

    async def get_doc(self, namespace: str, key: str) -> dict[str, Any] | None:
        doc = await super().get_doc(namespace, key)
        self.records_read += namespace == DIALOUTS and doc is not None
        return doc

    async def list_docs(self, namespace: str) -> list[dict[str, Any]]:
        docs = await super().list_docs(namespace)
        self.records_read += len(docs) if namespace == DIALOUTS else 0
        return docs


def dialout(call_connection_id: str, *, at: datetime = NOW, key: str | None = None) -> DialOut:
    return DialOut(
        id=str(uuid.uuid4()),
        room_id="room-1",
        call_connection_id=call_connection_id,
        phone_number="+14255550123",
        caller_id="+14255550100",
        created_at=at,
        updated_at=at,
        idempotency_key=key,
    )


async def finish(store: DialOutStore, record: DialOut, at: datetime) -> None:
    change = await store.update(record.id, lambda d: d.failed("call ended", at))
    assert change is not None
    assert change.after is not None


async def test_the_end_of_a_call_reads_only_its_own_unfinished_dial_outs() -> None:
    backing = CountingStore()
    store = DialOutStore(backing)
    for _ in range(30):
        old = dialout("old-call")
        await store.create(old)
        await finish(store, old, NOW)
    mine = dialout("this-call")
    done = dialout("this-call")
    await store.create(mine)
    await store.create(done)
    await finish(store, done, NOW)
    backing.records_read = 0

    unfinished = await store.unfinished_of_call("this-call")

    assert [d.id for d in unfinished] == [mine.id]
    assert backing.records_read == 1
    assert await store.unfinished_of_call("old-call") == []


async def test_a_stale_index_entry_is_dropped_when_read() -> None:
    backing = MemoryStateStore()
    store = DialOutStore(backing)
    lost = dialout("this-call")
    await store.create(lost)
    # The record went (deleted by a bot version that kept no index), its entry stayed.
    await backing.delete_doc(DIALOUTS, lost.id)

    assert await store.unfinished_of_call("this-call") == []


async def test_finished_dial_outs_and_their_keys_are_pruned_after_the_retention() -> None:
    store = DialOutStore(MemoryStateStore(), keep_finished=timedelta(hours=24))
    old = dialout("call-1", key="old-key")
    recent = dialout("call-1", key="recent-key")
    ringing = dialout("call-1", at=NOW - timedelta(days=3))
    for record in (old, recent, ringing):
        await store.create(record)
        if record.idempotency_key is not None:
            assert await store.claim(record.idempotency_key, "hash", record.id) is None
    await finish(store, old, NOW - timedelta(hours=25))
    await finish(store, recent, NOW - timedelta(hours=23))

    assert await store.prune(NOW) == 1

    assert await store.get(old.id) is None
    assert await store.claim_of("old-key") is None
    assert await store.get(recent.id) is not None
    assert await store.claim_of("recent-key") is not None
    assert [d.id for d in await store.unfinished_of_call("call-1")] == [ringing.id]
