"""Announcements in the state store (namespace ``announcements``): statuses that only move forward.

Events and the scheduler's outcomes may race (ACS can send PlayCompleted before the answer to the
play request that caused it), so each change is a read-check-write under a per-announcement lock,
and a status never goes back: a late PlayStarted after PlayCompleted changes nothing.

``announcements-of-call:<callConnectionId>`` indexes a call's announcements (an entry is written
before the announcement and removed with it), so the end of a call and its timeline read that
call's announcements, not every one kept. Unfinished announcements stored before the index
existed are indexed when the bot starts (`unfinished()` of every call, which resuming reads);
finished ones of then are left out of their call's timeline.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.locks import KeyedLocks
from bot.state.base import StateStore
from handlers.announcements.model import Announcement, Outcome, Status

NAMESPACE = "announcements"


def by_call(call_connection_id: str) -> str:
    """The namespace indexing a call's announcements."""
    return f"announcements-of-call:{call_connection_id}"


def utc_now() -> datetime:
    return datetime.now(UTC)


class AnnouncementStore:
    def __init__(self, store: StateStore, *, keep_finished: timedelta) -> None:
        self._store = store
        self._keep_finished = keep_finished
        self._locks = KeyedLocks()

    async def get(self, announcement_id: str) -> Announcement | None:
        doc = await self._store.get_doc(NAMESPACE, announcement_id)
        return Announcement.from_doc(doc) if doc is not None else None

    async def add(self, announcement: Announcement) -> None:
        await self._index(announcement)
        await self._store.put_doc(NAMESPACE, announcement.id, announcement.to_doc())

    async def _index(self, announcement: Announcement) -> None:
        await self._store.put_doc(
            by_call(announcement.call_connection_id), announcement.id, {"id": announcement.id}
        )

    async def _of_call(self, call_connection_id: str) -> list[Announcement]:
        namespace = by_call(call_connection_id)
        found = []
        for entry in await self._store.list_docs(namespace):
            announcement = await self.get(str(entry["id"]))
            if announcement is None:
                await self._store.delete_doc(namespace, str(entry["id"]))
            else:
                found.append(announcement)
        return found

    async def settle(
        self,
        announcement_id: str,
        status: Status,
        outcome: Outcome | None = None,
        *,
        at: datetime | None = None,
    ) -> Announcement | None:
        """Move an announcement forward to ``status``; None if there is no such announcement."""
        async with self._locks[announcement_id]:
            current = await self.get(announcement_id)
            if current is None:
                return None
            moved = current.moved_to(status, at or utc_now(), outcome)
            if moved is not current:
                await self._store.put_doc(NAMESPACE, announcement_id, moved.to_doc())
            return moved

    async def mark_sent(self, announcement_id: str, at: datetime | None = None) -> None:
        """Record that the play is being sent to ACS, before it is."""
        async with self._locks[announcement_id]:
            current = await self.get(announcement_id)
            if current is not None and not current.status.is_final:
                sent = replace(current, sent_at=at or utc_now())
                await self._store.put_doc(NAMESPACE, announcement_id, sent.to_doc())

    async def of_call(self, call_connection_id: str) -> list[Announcement]:
        """Every announcement of one call still kept, oldest first (through the index)."""
        return sorted(
            await self._of_call(call_connection_id), key=lambda announcement: announcement.created_at
        )

    async def unfinished(self, call_connection_id: str | None = None) -> list[Announcement]:
        """Announcements not yet final, of one call (through the index) or of all, oldest first.
        Reading all indexes them, for announcements stored before the index existed."""
        if call_connection_id is not None:
            found = await self._of_call(call_connection_id)
        else:
            found = [Announcement.from_doc(doc) for doc in await self._store.list_docs(NAMESPACE)]
            for announcement in found:
                if not announcement.status.is_final:
                    await self._index(announcement)
        return sorted(
            (announcement for announcement in found if not announcement.status.is_final),
            key=lambda announcement: announcement.created_at,
        )

    async def prune(self) -> int:
        """Forget announcements finished longer ago than the retention; how many went."""
        cutoff = utc_now() - self._keep_finished
        pruned = 0
        for doc in await self._store.list_docs(NAMESPACE):
            finished_at = doc.get("finishedAt")
            if finished_at and datetime.fromisoformat(finished_at) < cutoff:
                await self._store.delete_doc(NAMESPACE, str(doc["id"]))
                await self._store.delete_doc(by_call(str(doc["callConnectionId"])), str(doc["id"]))
                pruned += 1
        return pruned
