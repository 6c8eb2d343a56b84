"""API keys of the backend (`/api/...`) and operator (`/ops/...`) routes: `Authorization: Bearer <key>`.

Keys are compared as SHA-256 digests with `hmac.compare_digest` against every configured key,
without stopping at a match, so neither the answer time nor its length reveals how much of a
guess was right or which scope it almost matched.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from aiohttp import web

from bot.problems import ProblemError

if TYPE_CHECKING:
    from config.settings import Settings

Scope = Literal["backend", "ops"]
SCOPES: tuple[Scope, ...] = ("backend", "ops")
REALM = "roombot"


def _digest(key: str) -> bytes:
    # aiohttp decodes header bytes that are not UTF-8 as surrogates: such a key is simply wrong.
    return hashlib.sha256(key.encode(errors="surrogateescape")).digest()


def _unauthorized(detail: str, *, invalid_token: bool) -> ProblemError:
    challenge = f'Bearer realm="{REALM}"'
    if invalid_token:
        challenge += ', error="invalid_token"'
    return ProblemError(401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


class ApiKeys:
    """The two key sets, kept only as digests."""

    def __init__(self, backend: Iterable[str], ops: Iterable[str]) -> None:
        self._keys: list[tuple[bytes, Scope]] = [(_digest(key), "backend") for key in backend]
        self._keys += [(_digest(key), "ops") for key in ops]

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiKeys:
        return cls(settings.backend_api_keys, settings.ops_api_keys)

    def scope_of(self, key: str) -> Scope | None:
        """The scope `key` belongs to, or None; takes the same time whatever the key."""
        candidate = _digest(key)
        found: Scope | None = None
        for digest, scope in self._keys:
            if hmac.compare_digest(candidate, digest):
                found = scope
        return found

    def require(self, request: web.Request, scope: Scope) -> None:
        """Let the request through with a key of `scope`; else raise a 401/403 ProblemError."""
        if scope not in SCOPES:
            raise ValueError(f"unknown API key scope {scope!r}")
        header = request.headers.get("Authorization", "").strip()
        if not header:
            raise _unauthorized(
                "This route needs an Authorization: Bearer <API key> header.", invalid_token=False
            )
        kind, _, key = header.partition(" ")
        key = key.strip()
        if kind.lower() != "bearer" or not key:
            raise _unauthorized("The Authorization header must be 'Bearer <API key>'.", invalid_token=True)
        found = self.scope_of(key)
        if found is None:
            raise _unauthorized("The API key is not valid.", invalid_token=True)
        if found != scope:
            article = "an" if found == "ops" else "a"
            detail = (
                f"This route needs one of ROOMBOT_{scope.upper()}_API_KEYS; this is {article} {found} key."
            )
            raise ProblemError(403, "Forbidden", detail)
