"""The official Rooms client (sync and async) against the emulator: every operation, both paths."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.communication.rooms import (
    CommunicationUserIdentifier,
    ParticipantRole,
    PhoneNumberIdentifier,
    RoomParticipant,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator.keys import REQUEST_LOG
from emulator.protocol.errors import MALFORMED_SYNTAX
from emulator.rooms.wire import INVALID_IDENTIFIER, PAST_MESSAGE, TIME_RANGE_MESSAGE
from emulator.server import RunningEmulator
from tests.conformance.conftest import RoomsApi, new_user_id


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def participant(raw_id: str, role: str | None = None) -> RoomParticipant:
    identifier = CommunicationUserIdentifier(raw_id)
    if role is None:
        return RoomParticipant(communication_identifier=identifier)
    return RoomParticipant(communication_identifier=identifier, role=role)


def roster(participants: list[RoomParticipant]) -> dict[str, str]:
    return {p.communication_identifier.raw_id: str(p.role) for p in participants}


def page_requests(emulator: RunningEmulator, path: str) -> int:
    return sum(1 for e in emulator.app[REQUEST_LOG].entries() if e["method"] == "GET" and e["path"] == path)


def assert_bad_request(error: HttpResponseError, target: str, message: str | None = None) -> None:
    """A field that fails validation, in the shape the real service answers it (recorded live
    traffic): a generic message, the field and the reason in ``details``."""
    assert error.status_code == 400
    assert error.error is not None
    assert error.error.code == "BadRequest"
    assert error.error.message == MALFORMED_SYNTAX
    assert error.error.details[0].code == "BadArgument"
    assert error.error.details[0].target == target
    if message is not None:
        assert error.error.details[0].message == message


def assert_invalid_identifier(error: HttpResponseError, message: str = INVALID_IDENTIFIER) -> None:
    assert error.status_code == 400
    assert error.error is not None
    assert (error.error.code, error.error.message) == ("BadRequest", message)
    assert not error.error.details
    assert error.error.target is None


async def test_create_with_defaults_opens_now_for_180_days(
    rooms: RoomsApi, emulator: RunningEmulator
) -> None:
    before = datetime.now(UTC)
    room = await rooms.create_room()
    assert room.id.isdigit()
    assert room.pstn_dial_out_enabled is False
    for value in (room.created_at, room.valid_from, room.valid_until):
        # As the service writes them: UTC with "+00:00", no trailing zeros in the fraction.
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?\+00:00", value), value
    valid_from, valid_until = parse(room.valid_from), parse(room.valid_until)
    assert before - timedelta(seconds=1) <= valid_from <= datetime.now(UTC)
    assert valid_until - valid_from == timedelta(days=180)
    fetched = await rooms.get_room(room.id)
    assert vars(fetched) == vars(room)
    # The SDK makes create repeatable; the emulator saw its id.
    (create,) = [e for e in emulator.app[REQUEST_LOG].entries() if e["method"] == "POST"]
    assert uuid.UUID(create["repeatabilityRequestId"])


async def test_create_with_window_flag_and_participants(rooms: RoomsApi) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    doctor, patient = new_user_id(), new_user_id()
    room = await rooms.create_room(
        valid_from=start,
        valid_until=start + timedelta(hours=2),
        pstn_dial_out_enabled=True,
        participants=[participant(doctor, ParticipantRole.PRESENTER), participant(patient)],
    )
    assert parse(room.valid_from) == start
    assert parse(room.valid_until) == start + timedelta(hours=2)
    assert room.pstn_dial_out_enabled is True
    assert roster(await rooms.list_participants(room.id)) == {doctor: "Presenter", patient: "Attendee"}


async def test_create_with_only_a_start_lasts_180_days_from_it(rooms: RoomsApi) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    room = await rooms.create_room(valid_from=start)
    assert parse(room.valid_until) == start + timedelta(days=180)


@pytest.mark.parametrize(
    ("start_offset", "length"),
    [
        (timedelta(0), timedelta(days=200)),
        (timedelta(days=2), -timedelta(days=1)),
        (timedelta(days=1), timedelta(0)),
    ],
    ids=["longer-than-180-days", "ends-before-start", "empty"],
)
async def test_create_rejects_a_bad_time_range(
    rooms: RoomsApi, start_offset: timedelta, length: timedelta
) -> None:
    start = datetime.now(UTC) + start_offset
    with pytest.raises(HttpResponseError) as info:
        await rooms.create_room(valid_from=start, valid_until=start + length)
    assert_bad_request(info.value, "ValidUntil", TIME_RANGE_MESSAGE)
    assert await rooms.list_rooms() == []


async def test_create_rejects_an_end_in_the_past(rooms: RoomsApi) -> None:
    now = datetime.now(UTC)
    with pytest.raises(HttpResponseError) as info:
        await rooms.create_room(valid_from=now - timedelta(days=2), valid_until=now - timedelta(days=1))
    assert_bad_request(info.value, "ValidUntil", PAST_MESSAGE)


async def test_update_with_nulls_leaves_other_fields_unchanged(rooms: RoomsApi) -> None:
    room = await rooms.create_room()
    flagged = await rooms.update_room(room_id=room.id, pstn_dial_out_enabled=True)
    assert (flagged.valid_from, flagged.valid_until, flagged.pstn_dial_out_enabled) == (
        room.valid_from,
        room.valid_until,
        True,
    )
    new_end = parse(room.valid_from) + timedelta(days=7)
    shortened = await rooms.update_room(room_id=room.id, valid_until=new_end)
    assert parse(shortened.valid_until) == new_end
    assert (shortened.valid_from, shortened.pstn_dial_out_enabled) == (room.valid_from, True)
    assert vars(await rooms.get_room(room.id)) == vars(shortened)


async def test_update_rejecting_a_range_changes_nothing(rooms: RoomsApi) -> None:
    room = await rooms.create_room()
    with pytest.raises(HttpResponseError) as info:
        await rooms.update_room(room_id=room.id, valid_until=parse(room.valid_from) + timedelta(days=181))
    assert_bad_request(info.value, "ValidUntil")
    assert vars(await rooms.get_room(room.id)) == vars(room)


async def test_unknown_room_is_not_found_everywhere(rooms: RoomsApi) -> None:
    unknown = "99999999999999999"
    with pytest.raises(ResourceNotFoundError) as info:
        await rooms.get_room(unknown)
    assert info.value.status_code == 404
    assert info.value.error is not None
    assert info.value.error.code == "NotFound"
    with pytest.raises(ResourceNotFoundError):
        await rooms.update_room(room_id=unknown, pstn_dial_out_enabled=True)
    with pytest.raises(ResourceNotFoundError):
        await rooms.delete_room(unknown)
    with pytest.raises(ResourceNotFoundError):
        await rooms.list_participants(unknown)
    with pytest.raises(ResourceNotFoundError):
        await rooms.add_or_update_participants(room_id=unknown, participants=[participant(new_user_id())])


async def test_delete_removes_the_room(rooms: RoomsApi) -> None:
    kept, deleted = await rooms.create_room(), await rooms.create_room()
    await rooms.delete_room(deleted.id)
    with pytest.raises(ResourceNotFoundError):
        await rooms.get_room(deleted.id)
    assert [room.id for room in await rooms.list_rooms()] == [kept.id]


async def test_participants_upsert_remove_and_absent_remove(rooms: RoomsApi) -> None:
    first, second, never_invited = new_user_id(), new_user_id(), new_user_id()
    room = await rooms.create_room(participants=[participant(first)])
    await rooms.add_or_update_participants(
        room_id=room.id, participants=[participant(first, "Consumer"), participant(second, "Collaborator")]
    )
    assert roster(await rooms.list_participants(room.id)) == {first: "Consumer", second: "Collaborator"}
    await rooms.remove_participants(
        room_id=room.id,
        participants=[CommunicationUserIdentifier(first), CommunicationUserIdentifier(never_invited)],
    )
    assert roster(await rooms.list_participants(room.id)) == {second: "Collaborator"}


async def test_bad_role_is_rejected_and_nothing_changes(rooms: RoomsApi) -> None:
    member = new_user_id()
    room = await rooms.create_room(participants=[participant(member)])
    with pytest.raises(HttpResponseError) as info:
        await rooms.add_or_update_participants(
            room_id=room.id, participants=[participant(new_user_id()), participant(member, "Moderator")]
        )
    assert_bad_request(
        info.value,
        f"$.participants.{member}.role",
        "Invalid participant role. The valid roles are: Presenter, Attendee, Consumer, Collaborator.",
    )
    assert roster(await rooms.list_participants(room.id)) == {member: "Attendee"}


@pytest.mark.parametrize(
    "raw_id",
    ["4:+14255550123", "8:orgid:3b9a5ad0-2a7c-4b4b-9a4c-1f2b3c4d5e6f", new_user_id("another-resource")],
    ids=["phone-number", "teams-user", "other-resource"],
)
async def test_only_users_of_this_resource_can_be_invited(rooms: RoomsApi, raw_id: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        await rooms.create_room(participants=[participant(raw_id)])
    assert_invalid_identifier(info.value)
    room = await rooms.create_room()
    # Updating the roster words it otherwise (recorded live traffic, "wrong_mri").
    with pytest.raises(HttpResponseError) as info:
        await rooms.remove_participants(room_id=room.id, participants=[PhoneNumberIdentifier("+14255550123")])
    assert_invalid_identifier(info.value, "Communication identifier 4:+14255550123 is not supported.")
    with pytest.raises(HttpResponseError) as info:
        await rooms.add_or_update_participants(room_id=room.id, participants=[participant(raw_id)])
    assert_invalid_identifier(info.value, f"Communication identifier {raw_id} is not supported.")


async def test_listing_rooms_follows_next_links(rooms: RoomsApi, emulator: RunningEmulator) -> None:
    # Newest first, as the service lists them (recorded live traffic).
    created = [(await rooms.create_room()).id for _ in range(23)][::-1]
    assert [room.id for room in await rooms.list_rooms()] == created
    assert page_requests(emulator, "/rooms") == 3  # the emulator serves 10 rooms a page
    assert [room.id for room in await rooms.list_rooms(params={"maxpagesize": 5})] == created
    assert page_requests(emulator, "/rooms") == 3 + 5


async def test_listing_participants_follows_next_links(rooms: RoomsApi, emulator: RunningEmulator) -> None:
    invited = {new_user_id(): role for role in ["Presenter", "Attendee", "Consumer", "Collaborator"] * 6}
    room = await rooms.create_room()
    await rooms.add_or_update_participants(
        room_id=room.id, participants=[participant(raw_id, role) for raw_id, role in invited.items()]
    )
    listed = await rooms.list_participants(room.id)
    assert roster(listed) == invited
    assert [p.communication_identifier.raw_id for p in listed] == list(invited)
    assert page_requests(emulator, f"/rooms/{room.id}/participants") == 3
