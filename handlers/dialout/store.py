"""Where dial-outs live: the state store's ``dialouts`` namespace (one document per dial-out)
and ``dialout-keys`` (which dial-out an ``Idempotency-Key`` created, with the request's hash).

Every change goes through :meth:`DialOutStore.update` under a per-dial-out lock: HTTP routes,
callback events, menu answers and the sender all change the same record, and a read-modify-write
must not lose another's change. The lock is per process; one bot instance owns its dial-outs.

``dialouts-of-call:<callConnectionId>`` indexes the unfinished dial-outs of a call (an entry is
written before its record and removed once the record is final), so the end of a call reads its
own dial-outs, not every one ever made. Finished ones are pruned after a retention.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.locks import KeyedLocks
from bot.state.base import StateStore
from handlers.dialout.model import DialOut

logger = logging.getLogger(f"roombot.{__name__}")

DIALOUTS = "dialouts"
# Finished dial-outs are looked for at most this often: it is a scan of every record.
PRUNE_EVERY_SECONDS = 3600.0
KEYS = "dialout-keys"


def by_call(call_connection_id: str) -> str:
    """The namespace indexing a call's unfinished dial-outs."""
    return f"dialouts-of-call:{call_connection_id}"


@dataclass(frozen=True)
class KeyClaim:
    """What an idempotency key is bound to."""

    fingerprint: str
    dialout_id: str


@dataclass(frozen=True)
class Change:
    """A dial-out before and after an update; ``after`` is None when nothing changed."""

    before: DialOut
    after: DialOut | None


class DialOutStore:
    def __init__(self, store: StateStore, *, keep_finished: timedelta = timedelta(hours=24)) -> None:
        self._store = store
        self._locks = KeyedLocks()
        self._keep_finished = keep_finished
        self._pruned_at = time.monotonic()

    def lock(self, dialout_id: str) -> asyncio.Lock:
        return self._locks[dialout_id]

    async def get(self, dialout_id: str) -> DialOut | None:
        doc = await self._store.get_doc(DIALOUTS, dialout_id)
        return DialOut.from_doc(doc) if doc is not None else None

    async def put(self, dialout: DialOut) -> None:
        await self._store.put_doc(DIALOUTS, dialout.id, dialout.to_doc())

    async def create(self, dialout: DialOut) -> None:
        """Store a new dial-out, indexed under its call first: an entry never lacks its record
        for long, and one that does is dropped when read."""
        await self.index(dialout)
        await self.put(dialout)

    async def index(self, dialout: DialOut) -> None:
        if not dialout.is_final:
            await self._store.put_doc(by_call(dialout.call_connection_id), dialout.id, {"id": dialout.id})

    async def delete(self, dialout: DialOut) -> None:
        await self._store.delete_doc(DIALOUTS, dialout.id)
        await self._store.delete_doc(by_call(dialout.call_connection_id), dialout.id)
        if dialout.idempotency_key is not None:
            claim = await self.claim_of(dialout.idempotency_key)
            if claim is not None and claim.dialout_id == dialout.id:
                await self._store.delete_doc(KEYS, dialout.idempotency_key)

    async def all(self) -> list[DialOut]:
        return [DialOut.from_doc(doc) for doc in await self._store.list_docs(DIALOUTS)]

    async def unfinished_of_call(self, call_connection_id: str) -> list[DialOut]:
        """The call's dial-outs not final yet, through the index; stale entries are dropped."""
        namespace = by_call(call_connection_id)
        unfinished: list[DialOut] = []
        for entry in await self._store.list_docs(namespace):
            dialout = await self.get(str(entry["id"]))
            if dialout is None or dialout.is_final:
                await self._store.delete_doc(namespace, str(entry["id"]))
            else:
                unfinished.append(dialout)
        return unfinished

    async def prune(self, now: datetime) -> int:
        """Forget dial-outs (and their idempotency keys) finished longer ago than the retention."""
        self._pruned_at = time.monotonic()
        pruned = 0
        for dialout in await self.all():
            if dialout.is_final and dialout.updated_at < now - self._keep_finished:
                await self.delete(dialout)
                pruned += 1
        if pruned:
            logger.info("pruned %d finished dial-outs", pruned)
        return pruned

    async def prune_if_due(self, now: datetime) -> None:
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_SECONDS:
            await self.prune(now)

    async def update(self, dialout_id: str, change: Callable[[DialOut], DialOut | None]) -> Change | None:
        """Apply ``change`` to the stored dial-out and store the result; None for an unknown id."""
        async with self.lock(dialout_id):
            current = await self.get(dialout_id)
            if current is None:
                return None
            updated = change(current)
            if updated is not None:
                await self.put(updated)
                if updated.is_final and not current.is_final:
                    await self._store.delete_doc(by_call(updated.call_connection_id), updated.id)
            return Change(current, updated)

    async def claim(self, key: str, fingerprint: str, dialout_id: str) -> KeyClaim | None:
        """Bind ``key`` to the dial-out atomically; None when bound now, else the earlier claim."""
        doc = {"idempotencyKey": key, "fingerprint": fingerprint, "dialoutId": dialout_id}
        existing = await self._store.put_doc_if_absent(KEYS, key, doc)
        return _claim(existing) if existing is not None else None

    async def claim_of(self, key: str) -> KeyClaim | None:
        doc = await self._store.get_doc(KEYS, key)
        return _claim(doc) if doc is not None else None


def _claim(doc: dict[str, Any]) -> KeyClaim:
    return KeyClaim(fingerprint=str(doc["fingerprint"]), dialout_id=str(doc["dialoutId"]))
