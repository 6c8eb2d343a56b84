"""The SQLite store's document cache never answers with what a later write replaced."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.state import SqliteStateStore
from bot.state.doccache import DocCache


def test_a_read_that_raced_a_write_does_not_fill_the_cache() -> None:
    cache = DocCache()
    started = cache.generation
    cache.writing("ns", "k")
    cache.written("ns", "k", '{"v":2}')

    cache.fill("ns", "k", '{"v":1}', started)

    assert cache.get("ns", "k") == (True, '{"v":2}')


def test_a_write_drops_its_namespace_listing() -> None:
    cache = DocCache()
    cache.fill_listing("ns", {"a": "{}"}, cache.generation)
    assert cache.listing("ns") == {"a": "{}"}

    cache.writing("ns", "b")

    assert cache.listing("ns") is None


async def test_reads_and_writes_in_flight_together_end_on_the_last_write(tmp_path: Path) -> None:
    store = await SqliteStateStore.open(tmp_path / "state.db")
    try:
        await store.put_doc("ns", "k", {"v": 0})
        for value in range(1, 20):
            await asyncio.gather(store.get_doc("ns", "k"), store.put_doc("ns", "k", {"v": value}))
        await store.delete_doc("ns", "gone")

        assert await store.get_doc("ns", "k") == {"v": 19}
        assert await store.list_docs("ns") == [{"v": 19}]
        assert await store.get_doc("ns", "gone") is None
    finally:
        await store.close()

    reopened = await SqliteStateStore.open(tmp_path / "state.db")
    try:
        assert await reopened.get_doc("ns", "k") == {"v": 19}
    finally:
        await reopened.close()
