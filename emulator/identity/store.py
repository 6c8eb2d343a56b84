"""Communication user identities of the emulated resource."""

from __future__ import annotations

import heapq
import uuid
from datetime import datetime


class IdentityStore:
    """Issued identities, as raw ids `8:acs:<resource>_<guid>`, and their live access tokens.

    A token is remembered by its ``jti`` so that revoking a user's tokens or deleting the user
    invalidates exactly the tokens issued before, not those issued after. An expired token is
    refused by its ``exp`` claim anyway, so its id is forgotten once it expires: the store grows
    with the tokens that are still valid, not with every token ever issued.
    """

    def __init__(self, resource_id: str) -> None:
        self.resource_id = resource_id
        self._users: set[str] = set()
        self._live_tokens: dict[str, set[str]] = {}
        # (expiry, raw id, token id), soonest expiry first.
        self._expiries: list[tuple[datetime, str, str]] = []

    def create(self) -> str:
        raw_id = f"8:acs:{self.resource_id}_{uuid.uuid4()}"
        self._users.add(raw_id)
        self._live_tokens[raw_id] = set()
        return raw_id

    def exists(self, raw_id: str) -> bool:
        return raw_id in self._users

    def delete(self, raw_id: str) -> bool:
        if raw_id in self._users:
            self._users.remove(raw_id)
            self._live_tokens.pop(raw_id, None)
            return True
        return False

    def belongs_to_resource(self, raw_id: str) -> bool:
        """Whether an ACS user id was minted for this resource (issued here or not)."""
        return raw_id.startswith(f"8:acs:{self.resource_id}_")

    def add_token(self, raw_id: str, token_id: str, *, expires_at: datetime, now: datetime) -> None:
        """Remember a token until ``expires_at``; tokens expired by ``now`` are forgotten."""
        self._forget_expired(now)
        self._live_tokens.setdefault(raw_id, set()).add(token_id)
        heapq.heappush(self._expiries, (expires_at, raw_id, token_id))

    def token_is_live(self, raw_id: str, token_id: str) -> bool:
        return token_id in self._live_tokens.get(raw_id, set())

    def live_token_count(self) -> int:
        return sum(len(tokens) for tokens in self._live_tokens.values())

    def revoke_tokens(self, raw_id: str) -> bool:
        if raw_id not in self._users:
            return False
        self._live_tokens[raw_id] = set()
        return True

    def _forget_expired(self, now: datetime) -> None:
        while self._expiries and self._expiries[0][0] <= now:
            _, raw_id, token_id = heapq.heappop(self._expiries)
            self._live_tokens.get(raw_id, set()).discard(token_id)
