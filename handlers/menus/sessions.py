"""Menu sessions as the state store keeps them, so that a restarted bot continues each one.

A session's document holds the engine's state, who and where it runs for, and the effects still
to carry out (`pending`, stored as references into the menu file). ``version`` grows with every
transition: an effect runner started for an older version stops instead of acting twice.
Documents live in the ``menus`` namespace until their call ends.

``menus-of-call:<callConnectionId>`` indexes the sessions of a call (an entry is written before
the session's first document and removed after its last), so that a ParticipantsUpdated reads the
sessions of its own call, not every session of every call. An entry whose session is gone is
dropped when read; sessions stored before the index existed are indexed when the bot starts
(`Sessions.all`, which the driver's resume reads).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.locks import KeyedLocks
from bot.state.base import StateStore
from handlers.menus.engine import Session

NAMESPACE = "menus"
# Sessions whose index entry this process knows is written: kept for this many at most.
_INDEXED_LIMIT = 100_000


def by_call(call_connection_id: str) -> str:
    """The namespace indexing a call's sessions."""
    return f"menus-of-call:{call_connection_id}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class SessionRecord:
    session: Session
    call_connection_id: str
    room_id: str
    participant: str
    start_menu: str
    context: dict[str, Any] = field(default_factory=dict)
    # Seen among the call's participants: only then does their absence mean they left (a
    # ParticipantsUpdated older than their arrival must not end the session).
    present: bool = False
    version: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)
    # While a try's recognize runs: when it was asked for (epoch seconds) and how long it may take
    # at most, so that a bot restarted meanwhile knows when its result is overdue.
    collecting_since: float | None = None
    collect_bound: float = 0.0
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def running(self) -> bool:
        return self.session.ended is None

    @property
    def status(self) -> str:
        return self.session.ended or "running"

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session.to_json(),
            "callConnectionId": self.call_connection_id,
            "roomId": self.room_id,
            "participant": self.participant,
            "startMenu": self.start_menu,
            "context": self.context,
            "present": self.present,
            "version": self.version,
            "pending": self.pending,
            "collectingSince": self.collecting_since,
            "collectBound": self.collect_bound,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionRecord:
        return cls(
            session=Session.from_json(data["session"]),
            call_connection_id=str(data["callConnectionId"]),
            room_id=str(data["roomId"]),
            participant=str(data["participant"]),
            start_menu=str(data["startMenu"]),
            context=dict(data.get("context") or {}),
            present=bool(data.get("present", False)),
            version=int(data.get("version", 0)),
            pending=list(data.get("pending") or []),
            collecting_since=data.get("collectingSince"),
            collect_bound=float(data.get("collectBound") or 0.0),
            created_at=str(data.get("createdAt") or now_iso()),
            updated_at=str(data.get("updatedAt") or now_iso()),
        )

    def view(self) -> dict[str, Any]:
        """The session as the HTTP API shows it."""
        return {
            "sessionId": self.id,
            "roomId": self.room_id,
            "callConnectionId": self.call_connection_id,
            "participant": self.participant,
            "menu": self.session.menu,
            "startMenu": self.start_menu,
            "status": self.status,
            "tries": self.session.attempt,
            "failedTries": dict(self.session.failures),
            "lastEntry": self.session.last_entry,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


class Sessions:
    """Session documents, with one lock per session and per participant for read-modify-write."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._locks = KeyedLocks()
        self._indexed: dict[str, None] = {}

    def lock(self, key: str) -> asyncio.Lock:
        """The lock of a session id, or of a ``call/participant`` pair when starting a session."""
        return self._locks[key]

    async def get(self, session_id: str) -> SessionRecord | None:
        doc = await self._store.get_doc(NAMESPACE, session_id)
        return SessionRecord.from_json(doc) if doc is not None else None

    async def _index(self, record: SessionRecord) -> None:
        if record.id in self._indexed:
            return
        await self._store.put_doc(by_call(record.call_connection_id), record.id, {"id": record.id})
        self._indexed[record.id] = None
        if len(self._indexed) > _INDEXED_LIMIT:
            # Forgetting only costs one idempotent write of the entry again.
            del self._indexed[next(iter(self._indexed))]

    async def put(self, record: SessionRecord) -> None:
        record.updated_at = now_iso()
        await self._index(record)
        await self._store.put_doc(NAMESPACE, record.id, record.to_json())

    async def delete(self, session_id: str) -> None:
        record = await self.get(session_id)
        await self._store.delete_doc(NAMESPACE, session_id)
        if record is not None:
            await self._store.delete_doc(by_call(record.call_connection_id), session_id)
        self._indexed.pop(session_id, None)

    async def all(self) -> list[SessionRecord]:
        records = [SessionRecord.from_json(doc) for doc in await self._store.list_docs(NAMESPACE)]
        for record in records:
            await self._index(record)
        return records

    async def of_call(self, call_connection_id: str) -> list[SessionRecord]:
        """The call's sessions (through the index), oldest first."""
        namespace = by_call(call_connection_id)
        records = []
        for entry in await self._store.list_docs(namespace):
            record = await self.get(str(entry["id"]))
            if record is None:
                await self._store.delete_doc(namespace, str(entry["id"]))
            else:
                records.append(record)
        return sorted(records, key=lambda record: record.created_at)

    async def running_for(self, call_connection_id: str, participant: str) -> SessionRecord | None:
        for record in await self.of_call(call_connection_id):
            # A session saying its last words (pending effects) still holds the participant.
            if record.participant == participant and (record.running or record.pending):
                return record
        return None
