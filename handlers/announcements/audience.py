"""Who hears an announcement: an audience resolved against the call and the room's roster.

The call's participants come from the bot's registry (its last ParticipantsUpdated), and from
ACS's own list of the call's participants when the registry's cannot satisfy the audience (ACS
promises no delivery of callbacks: the update that listed someone may be lost or late); roles come
from the room's roster (Rooms API), which the call events do not carry. Rosters are cached per
room and fetched again after a TTL, or at once when someone is in the call whose role the cached
roster does not know (a member added to the room after the last fetch). PSTN participants and
the bot's own peers are never on a roster; an id found missing by a fetch is not asked about
again before the TTL, so a phone participant does not cost a Rooms request per announcement.
A role changed on the roster of someone already known shows after the TTL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from handlers.announcements.model import PSTN_PREFIX, Audience

RosterFetch = Callable[[str], Awaitable[dict[str, str]]]


class AudienceError(Exception):
    """Nobody, or not everyone asked for, can hear the announcement; ``missing`` names who."""

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = list(missing)


def is_phone(raw_id: str) -> bool:
    return raw_id.startswith(PSTN_PREFIX)


def resolve(
    audience: Audience, in_call: Sequence[str], roster: Mapping[str, str] | None = None
) -> tuple[str, ...] | None:
    """The raw ids to play to, in call order (None: play to everyone); raises AudienceError.

    ``roster`` (raw id → role) is needed for a roles audience only."""
    if audience.kind == "everyone":
        return None
    if audience.kind == "participants":
        present = set(in_call)
        missing = [raw_id for raw_id in audience.participants if raw_id not in present]
        if missing:
            raise AudienceError(f"not in the call: {', '.join(missing)}", missing)
        return audience.participants
    if audience.kind == "pstn":
        phones = tuple(raw_id for raw_id in in_call if is_phone(raw_id))
        if not phones:
            raise AudienceError("no PSTN participant is in the call")
        return phones
    if roster is None:
        raise ValueError("a roles audience needs the room's roster")
    wanted = {role.value for role in audience.roles}
    matched = tuple(raw_id for raw_id in in_call if roster.get(raw_id) in wanted)
    if not matched:
        raise AudienceError(f"nobody in the call has the role {' or '.join(sorted(wanted))}")
    return matched


async def resolve_in_call(
    audience: Audience,
    room_id: str,
    books: Sequence[str],
    roster: RosterCache,
    asked: Callable[[], Awaitable[list[str] | None]],
) -> tuple[str, ...] | None:
    """`resolve` against ``books`` (the registry's participants); when they cannot satisfy the
    audience, against ``asked()`` (ACS's list; None when ACS cannot be asked), if it names anyone
    the books do not."""

    async def against(in_call: Sequence[str]) -> tuple[str, ...] | None:
        roles = await roster.roles(room_id, in_call) if audience.kind == "roles" else None
        return resolve(audience, in_call, roles)

    try:
        return await against(books)
    except AudienceError:
        listed = await asked()
        if listed is None or set(listed) <= set(books):
            raise
        return await against(listed)


@dataclass
class _Roster:
    roles: dict[str, str]
    fetched_at: float
    # Ids in the call that the fetch found off the roster: not a reason to fetch again.
    off_roster: set[str] = field(default_factory=set)


class RosterCache:
    """Room rosters (raw id → role), cached per room; see the module docstring for refreshes."""

    def __init__(
        self, fetch: RosterFetch, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._clock = clock
        self._rosters: dict[str, _Roster] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def roles(self, room_id: str, in_call: Collection[str]) -> dict[str, str]:
        """The room's roster, fresh enough to know the role of everyone in ``in_call``."""
        # One fetch per room at a time: requests arriving together share its answer.
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            cached = self._rosters.get(room_id)
            if cached is not None and not self._stale(cached, in_call):
                return dict(cached.roles)
            roles = await self._fetch(room_id)
            off_roster = {raw_id for raw_id in in_call if raw_id not in roles}
            self._rosters[room_id] = _Roster(roles, self._clock(), off_roster)
            return dict(roles)

    def forget(self, room_id: str) -> None:
        """Drop a room's roster (its call ended): the next call of the room fetches it anew."""
        self._rosters.pop(room_id, None)
        lock = self._locks.get(room_id)
        if lock is not None and not lock.locked():
            del self._locks[room_id]

    def _stale(self, cached: _Roster, in_call: Collection[str]) -> bool:
        if self._clock() - cached.fetched_at >= self._ttl:
            return True
        return any(
            raw_id not in cached.roles and raw_id not in cached.off_roster and not is_phone(raw_id)
            for raw_id in in_call
        )
