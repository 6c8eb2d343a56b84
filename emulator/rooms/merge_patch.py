"""JSON merge-patch (RFC 7396) as the Rooms API applies it, on parsed values.

Two rules differ from a plain merge and follow ACS: on a room, ``null`` means "leave as is"
(the SDK sends ``null`` for every argument left out, so it can never clear a field); in the
participant map, ``null`` removes that participant and removing an absent one is no error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RoomSettings:
    """The fields of a room that a client may set."""

    valid_from: datetime
    valid_until: datetime
    pstn_dial_out_enabled: bool


@dataclass(frozen=True)
class RoomPatch:
    """A parsed update; ``None`` stands for both an absent field and an explicit ``null``."""

    valid_from: datetime | None = None
    valid_until: datetime | None = None
    pstn_dial_out_enabled: bool | None = None


def merge_room(current: RoomSettings, patch: RoomPatch) -> RoomSettings:
    """The settings after ``patch``: a set field takes its new value, the others stay."""
    return RoomSettings(
        valid_from=current.valid_from if patch.valid_from is None else patch.valid_from,
        valid_until=current.valid_until if patch.valid_until is None else patch.valid_until,
        pstn_dial_out_enabled=(
            current.pstn_dial_out_enabled
            if patch.pstn_dial_out_enabled is None
            else patch.pstn_dial_out_enabled
        ),
    )


def merge_participants(current: Mapping[str, str], patch: Mapping[str, str | None]) -> dict[str, str]:
    """The roster after ``patch`` (rawId -> role, or None to remove); order of first invitation kept."""
    merged = dict(current)
    for raw_id, role in patch.items():
        if role is None:
            merged.pop(raw_id, None)
        else:
            merged[raw_id] = role
    return merged
