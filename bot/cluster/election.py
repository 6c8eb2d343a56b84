"""Which replica drives the calls: a leader lease in the shared state store.

Several replicas behind one load balancer share a Redis store. Every replica takes callbacks
into the shared inbox, but one at a time, the leader, processes them and runs the handlers: their
timers, menus, dial-outs and media. The leader holds the lease ``leader`` (`StateStore.acquire_lease`,
``SET NX PX`` on Redis) and renews it every third of its lifetime; a replica that dies or stalls
loses it within ``lease_seconds``, and the next replica to ask takes over and resumes everything
from the store, as a restarted bot does.

Fencing: a replica acts only while it *knows* it leads, counted on its own monotonic clock from
the start of its last successful renewal. A replica paused past that (a long GC, a stopped
container) finds itself no longer acting the moment it runs again, before any renewal attempt
can tell it, so it cannot play or dial on behalf of a lease that another replica holds by then.

With a store that only one process uses (memory, SQLite) the process simply leads from the start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from bot.state.base import StateStore, StateStoreError
from bot.stopping import cancel_and_wait

logger = logging.getLogger(f"roombot.{__name__}")

LEADER_LEASE = "leader"
LEADER_DOC = ("cluster", "leader")
# Renewals per lease lifetime: two may fail (a slow Redis) before the lease runs out.
RENEWALS_PER_LEASE = 3
# Stop acting this much before the lease's end, for the clock drift between replicas and Redis.
SAFETY_MARGIN = 0.1

Transition = Callable[[], Awaitable[None]]


class Election:
    def __init__(
        self,
        store: StateStore,
        replica_id: str,
        *,
        lease_seconds: float,
        url: str | None,
        lead: Transition,
        abdicate: Transition,
    ) -> None:
        self._store = store
        self.replica_id = replica_id
        self._lease = lease_seconds
        self._url = url
        self._lead = lead
        self._abdicate = abdicate
        self._acting_until = 0.0
        self.leading = False
        self._task: asyncio.Task[None] | None = None
        self.terms = 0

    @property
    def shared(self) -> bool:
        return self._store.shared

    def acting(self) -> bool:
        """Whether this replica may act now: it leads, and its lease cannot have run out."""
        if not self.shared:
            return self.leading
        return self.leading and time.monotonic() < self._acting_until

    async def start(self) -> None:
        """Lead at once when alone; else make the first bid now and keep bidding in the background."""
        if not self.shared:
            await self._become_leader()
            return
        await self._bid()
        self._task = asyncio.create_task(self._campaign(), name="leader-election")

    async def _campaign(self) -> None:
        interval = self._lease / RENEWALS_PER_LEASE
        while True:
            await asyncio.sleep(interval)
            await self._bid()

    async def _bid(self) -> None:
        started = time.monotonic()
        try:
            held = await self._store.acquire_lease(LEADER_LEASE, self.replica_id, self._lease)
        except StateStoreError as exc:
            logger.warning("cannot renew the leader lease: %s", exc)
            held = self.leading and time.monotonic() < self._acting_until
        if held:
            self._acting_until = started + self._lease * (1 - SAFETY_MARGIN)
            if not self.leading:
                await self._become_leader()
        elif self.leading:
            await self._step_down("another replica holds the leader lease")

    async def _become_leader(self) -> None:
        self.leading = True
        self.terms += 1
        logger.info("replica %s leads (term %d)", self.replica_id, self.terms)
        if self.shared:
            await self._store.put_doc(*LEADER_DOC, {"replica": self.replica_id, "url": self._url})
        await self._lead()

    async def _step_down(self, why: str, *, expected: bool = False) -> None:
        log = logger.info if expected else logger.warning
        log("replica %s stops leading: %s", self.replica_id, why)
        self.leading = False
        await self._abdicate()

    async def leader(self) -> dict[str, Any] | None:
        """The leader as it advertised itself (replica id and URL), or None."""
        if not self.shared:
            return {"replica": self.replica_id, "url": self._url}
        owner = await self._store.lease_owner(LEADER_LEASE)
        doc = await self._store.get_doc(*LEADER_DOC)
        if owner is None or doc is None or doc.get("replica") != owner:
            return None
        return doc

    async def close(self) -> None:
        """Stop bidding; hand the lease back so another replica takes over without waiting."""
        if self._task is not None:
            await cancel_and_wait([self._task])
        if self.leading:
            await self._step_down("shutting down", expected=True)
            if self.shared:
                with suppress(StateStoreError):
                    await self._store.release_lease(LEADER_LEASE, self.replica_id)
