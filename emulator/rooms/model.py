"""Room records as the emulator keeps them. Validation and wire shapes live in ``wire.py``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

ROLES = ("Presenter", "Attendee", "Consumer", "Collaborator")
DEFAULT_ROLE = "Attendee"
# The emulator's room ids have 17 digits, as most real ones do (16 occur too).
ROOM_ID_LENGTH = 17
# The lengths of id the emulator looks up: real ids of 16 and 17 digits are recorded, and an id
# is a 64-bit number (19 digits at most).
ROOM_ID_LENGTHS = range(16, 20)
INVALID_LENGTH = "Invalid room ID length."
INVALID_ROOM_ID = "Invalid room ID."


def room_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a room id, in the Rooms service's words, or None when it can. The
    service answers a malformed id with 400 before looking it up (recorded live traffic,
    ``Azure/azure-sdk-assets``): "Invalid room ID length." for a short one (``invalid_id``,
    ``123``: the Python Rooms tests ``test_get_invalid_format_roomId`` and
    ``test_delete_room_invalid_id``), "Invalid room ID." for one of a room id's length that is not
    a number (``non-existingroomId``: the JavaScript Rooms recording ``successfully gets an
    invalid room``), while ids of 16 digits are real rooms (``9942685257539934``, Python
    ``test_update_room_correct_timerange``). Assumption: 16 to 19 characters pass the length
    check, and only ASCII digits are a number."""
    if len(value) not in ROOM_ID_LENGTHS:
        return INVALID_LENGTH
    if not (value.isascii() and value.isdigit()):
        return INVALID_ROOM_ID
    return None


@dataclass
class Room:
    id: str
    created_at: datetime
    valid_from: datetime
    valid_until: datetime
    pstn_dial_out_enabled: bool = False
    # rawId -> role. Only these identities may join the room's call.
    participants: dict[str, str] = field(default_factory=dict)

    def is_open_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment < self.valid_until

    def role_of(self, raw_id: str) -> str | None:
        return self.participants.get(raw_id)


class RoomStore:
    """All rooms of the emulated resource, in creation order."""

    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}

    def new_id(self) -> str:
        while True:
            room_id = str(10 ** (ROOM_ID_LENGTH - 1) + secrets.randbelow(9 * 10 ** (ROOM_ID_LENGTH - 1)))
            if room_id not in self._rooms:
                return room_id

    def add(self, room: Room) -> None:
        self._rooms[room.id] = room

    def get(self, room_id: str) -> Room | None:
        return self._rooms.get(room_id)

    def delete(self, room_id: str) -> Room | None:
        return self._rooms.pop(room_id, None)

    def all(self) -> list[Room]:
        return list(self._rooms.values())
