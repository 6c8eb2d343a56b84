"""Where dial-outs live: the state store's ``dialouts`` namespace (one document per dial-out)
and ``dialout-keys`` (which dial-out an ``Idempotency-Key`` created, with the request's hash).

Every change goes through :meth:`DialOutStore.update` under a per-dial-out lock: HTTP routes,
callback events, menu answers and the sender all change the same record, and a read-modify-write
must not lose another's change. The lock is per process; one bot instance owns its dial-outs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.locks import KeyedLocks
from bot.state.base import StateStore
from handlers.dialout_model import DialOut

DIALOUTS = "dialouts"
KEYS = "dialout-keys"


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
    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._locks = KeyedLocks()

    def lock(self, dialout_id: str) -> asyncio.Lock:
        return self._locks[dialout_id]

    async def get(self, dialout_id: str) -> DialOut | None:
        doc = await self._store.get_doc(DIALOUTS, dialout_id)
        return DialOut.from_doc(doc) if doc is not None else None

    async def put(self, dialout: DialOut) -> None:
        await self._store.put_doc(DIALOUTS, dialout.id, dialout.to_doc())

    async def delete(self, dialout_id: str) -> None:
        await self._store.delete_doc(DIALOUTS, dialout_id)

    async def all(self) -> list[DialOut]:
        return [DialOut.from_doc(doc) for doc in await self._store.list_docs(DIALOUTS)]

    async def update(self, dialout_id: str, change: Callable[[DialOut], DialOut | None]) -> Change | None:
        """Apply ``change`` to the stored dial-out and store the result; None for an unknown id."""
        async with self.lock(dialout_id):
            current = await self.get(dialout_id)
            if current is None:
                return None
            updated = change(current)
            if updated is not None:
                await self.put(updated)
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
