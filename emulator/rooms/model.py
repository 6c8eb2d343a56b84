"""Room records as the emulator keeps them. Validation and wire shapes live in ``wire.py``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

ROLES = ("Presenter", "Attendee", "Consumer", "Collaborator")
DEFAULT_ROLE = "Attendee"
# Real room ids are 17-digit numeric strings.
ROOM_ID_LENGTH = 17


def is_room_id(value: str) -> bool:
    """Whether ``value`` has the shape of a room id. The Rooms service answers any other id with
    400 "Invalid room ID length." before looking it up (recorded live traffic,
    ``Azure/azure-sdk-assets``, the Rooms tests ``test_get_invalid_format_roomId`` and
    ``test_delete_room_invalid_id``: ``invalid_id`` and ``123`` alike); the emulator takes
    anything but 17 ASCII digits as that case."""
    return len(value) == ROOM_ID_LENGTH and value.isascii() and value.isdigit()


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
