"""Room roles for the console: who in a call is Presenter, Attendee, Consumer or Collaborator.

Call events carry no roles; the room's roster (Rooms API) does. Rosters are cached per room for a
short while, fetched once for concurrent readers, and are best effort: a roster that cannot be
fetched in time shows as unknown roles rather than failing the page. Phone participants have no
role in a room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from bot.acs import AcsError

logger = logging.getLogger(f"roombot.{__name__}")

RosterFetch = Callable[[str], Awaitable[dict[str, str]]]
TTL_SECONDS = 30.0
FETCH_TIMEOUT_SECONDS = 3.0
# Rosters asked for at once when a page lists many rooms.
PARALLEL_FETCHES = 8
# Rooms remembered; beyond it the cache starts again (rosters are cheap to fetch again).
MAX_ROOMS = 10_000


class RoleBook:
    def __init__(
        self,
        fetch: RosterFetch,
        *,
        ttl_seconds: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._clock = clock
        self._rosters: dict[str, tuple[float, dict[str, str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._parallel = asyncio.Semaphore(PARALLEL_FETCHES)

    async def roles(self, room_id: str) -> dict[str, str]:
        """The room's roster (raw id → role); empty when it cannot be had now."""
        if len(self._locks) >= MAX_ROOMS:
            # Only idle locks go: one held stays until its holder is done.
            self._locks = {room: lock for room, lock in self._locks.items() if lock.locked()}
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            cached = self._rosters.get(room_id)
            if cached is not None and self._clock() - cached[0] < self._ttl:
                return cached[1]
            try:
                async with self._parallel, asyncio.timeout(FETCH_TIMEOUT_SECONDS):
                    roster = await self._fetch(room_id)
            except (AcsError, TimeoutError) as exc:
                logger.info("roles of room %s unknown for now: %s", room_id, exc or "timed out")
                return cached[1] if cached is not None else {}
            if len(self._rosters) >= MAX_ROOMS:
                self._rosters.clear()
            self._rosters[room_id] = (self._clock(), roster)
            return roster

    async def of_rooms(self, room_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        unique = sorted(set(room_ids))
        rosters = await asyncio.gather(*(self.roles(room_id) for room_id in unique))
        return dict(zip(unique, rosters, strict=True))
