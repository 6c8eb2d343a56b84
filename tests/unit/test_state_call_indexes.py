"""Menu sessions and announcements are found through their call's index, in every store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.state import StateStore
from config.prompts import Prompt
from handlers.announcements.model import Announcement, Audience, Role, Status
from handlers.announcements.store import AnnouncementStore
from handlers.menus.engine import Session
from handlers.menus.sessions import NAMESPACE, SessionRecord, Sessions


def session(session_id: str, call: str, participant: str = "8:acs:alice") -> SessionRecord:
    return SessionRecord(
        session=Session(id=session_id, menu="main"),
        call_connection_id=call,
        room_id="room-1",
        participant=participant,
        start_menu="main",
    )


async def test_a_call_lists_its_own_sessions_only(store: StateStore) -> None:
    sessions = Sessions(store)
    for index in range(50):
        await sessions.put(session(f"other-{index}", call="busy-call", participant=f"8:acs:p{index}"))
    await sessions.put(session("s1", call="c1"))
    await sessions.put(session("s2", call="c1", participant="8:acs:bob"))

    mine = await sessions.of_call("c1")

    assert sorted(record.id for record in mine) == ["s1", "s2"]
    running = await sessions.running_for("c1", "8:acs:bob")
    assert running is not None
    assert running.id == "s2"
    assert await sessions.of_call("no-such-call") == []


async def test_a_deleted_session_leaves_its_call_index(store: StateStore) -> None:
    sessions = Sessions(store)
    await sessions.put(session("s1", call="c1"))
    await sessions.put(session("s2", call="c1", participant="8:acs:bob"))

    await sessions.delete("s1")

    assert [record.id for record in await sessions.of_call("c1")] == ["s2"]
    assert await sessions.running_for("c1", "8:acs:alice") is None


async def test_sessions_stored_before_the_index_are_found_after_a_restart(store: StateStore) -> None:
    # As an earlier version wrote it: the document only, no index entry.
    await store.put_doc(NAMESPACE, "old", session("old", call="c1").to_json())
    restarted = Sessions(store)

    assert [record.id for record in await restarted.all()] == ["old"]
    assert [record.id for record in await restarted.of_call("c1")] == ["old"]


def announcement(index: int, call: str) -> Announcement:
    return Announcement(
        id=f"{index:032d}",
        room_id="99",
        call_connection_id=call,
        prompt=Prompt(text="Hello"),
        audience=Audience(kind="roles", roles=(Role.CONSUMER,)),
        targets=None,
        loop=False,
        interrupt=False,
        status=Status.QUEUED,
        created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=index),
    )


async def test_a_call_reads_its_own_announcements_and_its_unfinished_ones(store: StateStore) -> None:
    announcements = AnnouncementStore(store, keep_finished=timedelta(days=1))
    for index in range(40):
        await announcements.add(announcement(index, call="busy-call"))
    for index in (100, 101, 102):
        await announcements.add(announcement(index, call="c1"))
    await announcements.settle(f"{101:032d}", Status.COMPLETED)

    assert [a.id for a in await announcements.of_call("c1")] == [f"{i:032d}" for i in (100, 101, 102)]
    assert [a.id for a in await announcements.unfinished("c1")] == [f"{i:032d}" for i in (100, 102)]
    assert len(await announcements.unfinished()) == 42


async def test_unfinished_announcements_stored_before_the_index_are_found_after_a_restart(
    store: StateStore,
) -> None:
    old = announcement(7, call="c1")
    await store.put_doc("announcements", old.id, old.to_doc())
    restarted = AnnouncementStore(store, keep_finished=timedelta(days=1))

    assert [a.id for a in await restarted.unfinished()] == [old.id]
    assert [a.id for a in await restarted.unfinished("c1")] == [old.id]
