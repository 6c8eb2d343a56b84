"""Pages of live calls (`GET /ops/calls`) read from each store's index: order, cursors, counts."""

from __future__ import annotations

from datetime import timedelta

from bot.registry import CallRegistry
from bot.routes.paging import Page, decode_cursor, page_of
from bot.state import CallState, StateStore
from tests.support.records import T0, call


async def walk(
    registry: CallRegistry, limit: int, room_filter: str | None = None
) -> tuple[list[str], list[Page]]:
    seen: list[str] = []
    pages: list[Page] = []
    cursor = None
    while True:
        page = await page_of(registry, limit=limit, cursor=cursor, room_filter=room_filter)
        pages.append(page)
        seen += [c.call_connection_id for c in page.calls]
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor


async def test_pages_walk_every_live_call_once_in_start_order(store: StateStore) -> None:
    for index in (5, 1, 3, 2, 4):
        await store.put_call(call(index))
    ended = call(6)
    ended.state, ended.ended_at = CallState.DISCONNECTED, T0 + timedelta(hours=1)
    await store.put_call(ended)

    seen, pages = await walk(CallRegistry(store), limit=2)

    assert seen == [f"call-{i:05d}" for i in range(1, 6)]
    assert [page.total for page in pages] == [5, 5, 5]


async def test_a_page_stays_right_when_calls_end_between_requests(store: StateStore) -> None:
    registry = CallRegistry(store)
    for index in range(1, 6):
        await store.put_call(call(index))
    first = await page_of(registry, limit=2, cursor=None, room_filter=None)
    for gone in (1, 3):
        over = call(gone)
        over.state, over.ended_at = CallState.DISCONNECTED, T0 + timedelta(hours=1)
        await store.put_call(over)

    second = await page_of(registry, limit=2, cursor=first.next_cursor, room_filter=None)

    assert [c.call_connection_id for c in second.calls] == ["call-00004", "call-00005"]
    assert second.total == 3


async def test_calls_that_started_together_are_ordered_by_id(store: StateStore) -> None:
    registry = CallRegistry(store)
    for index in (3, 1, 2):
        await store.put_call(call(index, started=T0))

    page = await page_of(registry, limit=1, cursor=None, room_filter=None)
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor) == (T0, "call-00001")
    after = await page_of(registry, limit=5, cursor=page.next_cursor, room_filter=None)

    assert [c.call_connection_id for c in after.calls] == ["call-00002", "call-00003"]
    assert after.next_cursor is None


async def test_the_room_filter_matches_the_start_of_room_ids(store: StateStore) -> None:
    for index, room in enumerate(["12345", "12399", "99123", "123"]):
        await store.put_call(call(index, room))

    seen, pages = await walk(CallRegistry(store), limit=1, room_filter="123")

    assert seen == ["call-00000", "call-00001", "call-00003"]
    assert {page.total for page in pages} == {3}


async def test_thousands_of_live_calls_page_through_whole(store: StateStore) -> None:
    # Pages at scale: every call once, in order, with the same total on every page.
    count = 2_500
    for index in range(count):
        await store.put_call(call(index, room=str(10**15 + index % 7)))

    seen, pages = await walk(CallRegistry(store), limit=100)

    assert seen == [f"call-{i:05d}" for i in range(count)]
    assert len(pages) == 25
    assert {page.total for page in pages} == {count}
    assert await store.count_calls(room_prefix=str(10**15 + 3)) == len(range(3, count, 7))
