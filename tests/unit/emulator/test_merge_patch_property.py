"""Rooms merge-patch: a set field takes the new value, a null or absent one stays as it was."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from emulator.protocol.timestamps import service_datetime
from emulator.rooms.merge_patch import RoomPatch, RoomSettings, merge_participants, merge_room
from emulator.rooms.model import ROLES
from emulator.rooms.wire import parse_room_patch

moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))
settings = st.builds(RoomSettings, moments, moments, st.booleans())
patches = st.builds(RoomPatch, st.none() | moments, st.none() | moments, st.none() | st.booleans())
raw_ids = st.sampled_from([f"8:acs:resource_{n}" for n in range(8)])
rosters = st.dictionaries(raw_ids, st.sampled_from(ROLES))
roster_patches = st.dictionaries(raw_ids, st.none() | st.sampled_from(ROLES))


@given(settings, patches)
def test_room_patch_sets_given_fields_and_keeps_the_rest(current: RoomSettings, patch: RoomPatch) -> None:
    merged = merge_room(current, patch)
    for name in ("valid_from", "valid_until", "pstn_dial_out_enabled"):
        wanted = getattr(patch, name)
        assert getattr(merged, name) == (getattr(current, name) if wanted is None else wanted)


@given(settings)
def test_an_all_null_body_as_the_sdk_sends_it_changes_nothing(current: RoomSettings) -> None:
    body = {"validFrom": None, "validUntil": None, "pstnDialOutEnabled": None}
    assert merge_room(current, parse_room_patch(body)) == current
    assert merge_room(current, parse_room_patch({})) == current


@given(rosters, roster_patches)
def test_participant_patch_removes_on_null_upserts_values_keeps_the_absent(
    current: dict[str, str], patch: dict[str, str | None]
) -> None:
    merged = merge_participants(current, patch)
    for raw_id in set(current) | set(patch):
        if raw_id not in patch:
            assert merged[raw_id] == current[raw_id]
        elif patch[raw_id] is None:
            assert raw_id not in merged
        else:
            assert merged[raw_id] == patch[raw_id]
    assert set(merged) <= set(current) | set(patch)


@given(rosters, roster_patches)
def test_participant_patch_does_not_touch_its_input(
    current: dict[str, str], patch: dict[str, str | None]
) -> None:
    before = dict(current)
    merge_participants(current, patch)
    assert current == before


@given(patches)
def test_a_patch_survives_the_wire_format(patch: RoomPatch) -> None:
    def date(value: datetime | None) -> str | None:
        return None if value is None else service_datetime(value)

    body = {
        "validFrom": date(patch.valid_from),
        "validUntil": date(patch.valid_until),
        "pstnDialOutEnabled": patch.pstn_dial_out_enabled,
    }
    assert parse_room_patch(body) == patch
