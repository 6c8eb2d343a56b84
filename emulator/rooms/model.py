"""Room records as the emulator keeps them. Validation and wire shapes live in ``wire.py``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

ROLES = ("Presenter", "Attendee", "Consumer", "Collaborator")
DEFAULT_ROLE = "Attendee"


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
        # Real room ids are 17-digit numeric strings.
        while True:
            room_id = str(10**16 + secrets.randbelow(9 * 10**16))
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
