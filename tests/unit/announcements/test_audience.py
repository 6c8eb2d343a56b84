"""Audience resolution against the call, and the per-room roster cache behind roles."""

from __future__ import annotations

import asyncio

import pytest

from handlers.announcements.audience import AudienceError, RosterCache, resolve
from handlers.announcements.model import Audience, Role

PRESENTER = "8:acs:res_presenter"
CONSUMER_1 = "8:acs:res_consumer1"
CONSUMER_2 = "8:acs:res_consumer2"
ATTENDEE = "8:acs:res_attendee"
PHONE = "4:+14255550123"
ROSTER = {PRESENTER: "Presenter", CONSUMER_1: "Consumer", CONSUMER_2: "Consumer", ATTENDEE: "Attendee"}
IN_CALL = [PRESENTER, CONSUMER_1, PHONE, ATTENDEE]


def roles(*names: Role) -> Audience:
    return Audience(kind="roles", roles=names)


def test_everyone_is_play_to_all() -> None:
    assert resolve(Audience(kind="everyone"), IN_CALL) is None


def test_roles_are_those_in_the_call_with_the_role() -> None:
    # CONSUMER_2 is on the roster but not in the call: a play to them would fail.
    assert resolve(roles(Role.CONSUMER), IN_CALL, ROSTER) == (CONSUMER_1,)
    assert resolve(roles(Role.CONSUMER, Role.PRESENTER), IN_CALL, ROSTER) == (PRESENTER, CONSUMER_1)


def test_nobody_with_the_role_in_the_call_is_refused() -> None:
    with pytest.raises(AudienceError, match="nobody in the call has the role Collaborator"):
        resolve(roles(Role.COLLABORATOR), IN_CALL, ROSTER)


def test_a_roles_audience_needs_the_roster() -> None:
    with pytest.raises(ValueError, match="roster"):
        resolve(roles(Role.CONSUMER), IN_CALL)


def test_pstn_is_every_phone_participant() -> None:
    second_phone = "4:+33612345678"

    assert resolve(Audience(kind="pstn"), [*IN_CALL, second_phone]) == (PHONE, second_phone)


def test_pstn_without_a_phone_in_the_call_is_refused() -> None:
    with pytest.raises(AudienceError, match="no PSTN participant"):
        resolve(Audience(kind="pstn"), [PRESENTER, ATTENDEE])


def test_listed_participants_must_all_be_in_the_call() -> None:
    listed = Audience(kind="participants", participants=(PHONE, CONSUMER_1))
    assert resolve(listed, IN_CALL) == (PHONE, CONSUMER_1)

    absent = Audience(kind="participants", participants=(PRESENTER, CONSUMER_2, "8:acs:stranger"))
    with pytest.raises(AudienceError) as caught:
        resolve(absent, IN_CALL)
    assert caught.value.missing == [CONSUMER_2, "8:acs:stranger"]
    assert CONSUMER_2 in str(caught.value)


class FakeRooms:
    """The Rooms API's roster listing, counting its calls; the roster can change between them."""

    def __init__(self, roster: dict[str, str]) -> None:
        self.roster = dict(roster)
        self.fetches = 0

    async def fetch(self, room_id: str) -> dict[str, str]:
        self.fetches += 1
        await asyncio.sleep(0)
        return dict(self.roster)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rooms() -> FakeRooms:
    return FakeRooms(ROSTER)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(rooms: FakeRooms, clock: FakeClock) -> RosterCache:
    return RosterCache(rooms.fetch, ttl_seconds=60, clock=clock)


async def test_the_roster_is_fetched_once_while_fresh(cache: RosterCache, rooms: FakeRooms) -> None:
    first = await cache.roles("1", IN_CALL)
    second = await cache.roles("1", IN_CALL)

    assert first == second == ROSTER
    assert rooms.fetches == 1


async def test_each_room_has_its_own_roster(cache: RosterCache, rooms: FakeRooms) -> None:
    await cache.roles("1", IN_CALL)
    await cache.roles("2", IN_CALL)

    assert rooms.fetches == 2


async def test_the_roster_is_fetched_again_after_the_ttl(
    cache: RosterCache, rooms: FakeRooms, clock: FakeClock
) -> None:
    await cache.roles("1", IN_CALL)
    rooms.roster[ATTENDEE] = "Consumer"
    clock.now += 59
    assert (await cache.roles("1", IN_CALL))[ATTENDEE] == "Attendee"

    clock.now += 1

    assert (await cache.roles("1", IN_CALL))[ATTENDEE] == "Consumer"
    assert rooms.fetches == 2


async def test_a_participant_of_unknown_role_refreshes_the_roster(
    cache: RosterCache, rooms: FakeRooms
) -> None:
    await cache.roles("1", IN_CALL)
    newcomer = "8:acs:res_newcomer"
    rooms.roster[newcomer] = "Consumer"

    found = await cache.roles("1", [*IN_CALL, newcomer])

    assert found[newcomer] == "Consumer"
    assert rooms.fetches == 2


async def test_someone_off_the_roster_is_not_asked_about_again_before_the_ttl(
    cache: RosterCache, rooms: FakeRooms, clock: FakeClock
) -> None:
    # Phone participants are never on a roster; an off-roster id is checked once per TTL.
    stranger = "8:acs:res_not_on_roster"
    await cache.roles("1", [*IN_CALL, stranger])
    await cache.roles("1", [*IN_CALL, stranger])
    assert rooms.fetches == 1

    clock.now += 60
    await cache.roles("1", [*IN_CALL, stranger])
    assert rooms.fetches == 2


async def test_requests_at_the_same_time_share_one_fetch(cache: RosterCache, rooms: FakeRooms) -> None:
    results = await asyncio.gather(*(cache.roles("1", IN_CALL) for _ in range(5)))

    assert all(result == ROSTER for result in results)
    assert rooms.fetches == 1


async def test_a_forgotten_room_is_fetched_anew(cache: RosterCache, rooms: FakeRooms) -> None:
    await cache.roles("1", IN_CALL)

    cache.forget("1")
    await cache.roles("1", IN_CALL)

    assert rooms.fetches == 2


async def test_the_cached_roster_cannot_be_changed_by_a_caller(cache: RosterCache, rooms: FakeRooms) -> None:
    found = await cache.roles("1", IN_CALL)
    found[PRESENTER] = "Consumer"

    assert (await cache.roles("1", IN_CALL))[PRESENTER] == "Presenter"
