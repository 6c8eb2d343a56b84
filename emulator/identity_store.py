"""Communication user identities of the emulated resource."""

from __future__ import annotations

import uuid


class IdentityStore:
    """Issued identities, as raw ids `8:acs:<resource>_<guid>`."""

    def __init__(self, resource_id: str) -> None:
        self.resource_id = resource_id
        self._users: set[str] = set()

    def create(self) -> str:
        raw_id = f"8:acs:{self.resource_id}_{uuid.uuid4()}"
        self._users.add(raw_id)
        return raw_id

    def exists(self, raw_id: str) -> bool:
        return raw_id in self._users

    def delete(self, raw_id: str) -> bool:
        if raw_id in self._users:
            self._users.remove(raw_id)
            return True
        return False

    def belongs_to_resource(self, raw_id: str) -> bool:
        """Whether an ACS user id was minted for this resource (issued here or not)."""
        return raw_id.startswith(f"8:acs:{self.resource_id}_")
