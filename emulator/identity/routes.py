"""The Identity API: communication users and their access tokens.

``POST /identities`` 201 ``{identity: {id}, accessToken?: {token, expiresOn}}``,
``POST /identities/{id}/:issueAccessToken`` 200 ``{token, expiresOn}``,
``DELETE /identities/{id}`` 204, ``POST /identities/{id}/:revokeAccessTokens`` 204.

Tokens are JWTs signed by the emulator with HS256. The key is HMAC-SHA256 of the literal
``roombot-emulator identity tokens`` keyed with the decoded access key, so that it is 32 bytes
whatever the access key's length and is never the key clients sign requests with. Real ACS
signs with RS256 keys of its own; clients do not verify the token, the SDK reads only
``expiresOn`` and ``CommunicationTokenCredential`` reads the ``exp`` claim. The claims mimic
real ones (``skypeid``, ``scp``, ``csi``, ``exp``, ``acsScope``, ``resourceId``) plus a ``jti``
that revocation uses. Assumptions: an unknown id is 404 on every per-identity operation; an
empty or unknown scope is 400; ``expiresInMinutes`` outside 60..1440 is 400 (as the spec bounds it).
Invalid input is answered as the Identity service answers it: 400
``{"error": {"code": "ValidationError", "message", "target"}}`` without an ``x-ms-error-code``
header, the target the request model's property in .NET's spelling (``Scopes``,
``ExpiresInMinutes``), not the Rooms service's ``BadRequest`` with ``details``. Recorded live
traffic (``Azure/azure-sdk-assets``, the Python Identity tests
``test_create_user_and_token_with_invalid_custom_expirations`` and ``test_get_token_with_no_scopes``)
gives the messages "ExpiresInMinutes value 59 is invalid. Value must be within the [60, 1440]
interval." and "Scopes: The Scopes field is required."; the others are the emulator's own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from aiohttp import web

from emulator.identity.store import IdentityStore
from emulator.keys import CLOCK, CONFIG, IDENTITIES
from emulator.protocol.errors import AcsError, read_json_object
from emulator.protocol.timestamps import service_datetime

SCOPES = frozenset({"chat", "voip", "chat.join", "chat.join.limited", "voip.join"})
DEFAULT_TOKEN_MINUTES = 24 * 60
MIN_TOKEN_MINUTES = 60
MAX_TOKEN_MINUTES = 24 * 60
# The `scp` claim of real ACS user tokens; clients do not interpret it.
_SCP_CLAIM = 1792


def validation_error(message: str, target: str) -> AcsError:
    return AcsError(400, "ValidationError", message, target=target, error_code_header=False)


def token_signing_key(access_key: str) -> bytes:
    secret = base64.b64decode(access_key)
    return hmac.new(secret, b"roombot-emulator identity tokens", hashlib.sha256).digest()


def _scopes(value: Any, target: str) -> list[str]:
    if value is None or value == []:
        raise validation_error(f"{target}: The {target} field is required.", target)
    if not isinstance(value, list):
        raise validation_error(f"{target} must be a list of scopes.", target)
    for scope in value:
        if not isinstance(scope, str) or scope not in SCOPES:
            valid = ", ".join(sorted(SCOPES))
            raise validation_error(f"Invalid scope '{scope}'. Valid scopes are: {valid}.", target)
    return list(value)


def _minutes(value: Any) -> int:
    if value is None:
        return DEFAULT_TOKEN_MINUTES
    if isinstance(value, bool) or not isinstance(value, int):
        raise validation_error("ExpiresInMinutes must be an integer.", "ExpiresInMinutes")
    if not MIN_TOKEN_MINUTES <= value <= MAX_TOKEN_MINUTES:
        message = (
            f"ExpiresInMinutes value {value} is invalid. "
            f"Value must be within the [{MIN_TOKEN_MINUTES}, {MAX_TOKEN_MINUTES}] interval."
        )
        raise validation_error(message, "ExpiresInMinutes")
    return value


def _issue(request: web.Request, raw_id: str, scopes: list[str], minutes: int) -> dict[str, str]:
    config = request.app[CONFIG]
    now: datetime = request.app[CLOCK].now()
    expires_on = (now + timedelta(minutes=minutes)).replace(microsecond=0)
    token_id = str(uuid.uuid4())
    claims = {
        "skypeid": raw_id.removeprefix("8:"),
        "scp": _SCP_CLAIM,
        "csi": int(now.timestamp()),
        "iat": int(now.timestamp()),
        "exp": int(expires_on.timestamp()),
        "acsScope": ",".join(scopes),
        "resourceId": config.resource_id,
        "jti": token_id,
    }
    request.app[IDENTITIES].add_token(raw_id, token_id, expires_at=expires_on, now=now)
    token = jwt.encode(claims, token_signing_key(config.access_key), algorithm="HS256")
    return {"token": token, "expiresOn": service_datetime(expires_on)}


def verify_access_token(token: str, *, access_key: str, store: IdentityStore) -> str | None:
    """The raw id a user token was issued to, or None if it is forged, expired or revoked."""
    try:
        claims = jwt.decode(
            token,
            token_signing_key(access_key),
            algorithms=["HS256"],
            options={"require": ["exp", "jti", "skypeid"]},
        )
    except jwt.InvalidTokenError:
        return None
    raw_id = f"8:{claims['skypeid']}"
    return raw_id if store.token_is_live(raw_id, str(claims["jti"])) else None


def _known_identity(request: web.Request) -> str:
    raw_id = request.match_info["id"]
    if not request.app[IDENTITIES].exists(raw_id):
        raise AcsError(404, "IdentityNotFound", f"Identity '{raw_id}' was not found.", target="id")
    return raw_id


async def create_identity(request: web.Request) -> web.Response:
    body = await read_json_object(request, required=False, error=validation_error)
    requested = body.get("createTokenWithScopes")
    scopes = None if requested is None else _scopes(requested, "CreateTokenWithScopes")
    minutes = _minutes(body.get("expiresInMinutes"))
    raw_id = request.app[IDENTITIES].create()
    result: dict[str, Any] = {"identity": {"id": raw_id}}
    if scopes is not None:
        result["accessToken"] = _issue(request, raw_id, scopes, minutes)
    return web.json_response(result, status=201)


async def issue_access_token(request: web.Request) -> web.Response:
    raw_id = _known_identity(request)
    body = await read_json_object(request, required=False, error=validation_error)
    scopes = _scopes(body.get("scopes"), "Scopes")
    return web.json_response(_issue(request, raw_id, scopes, _minutes(body.get("expiresInMinutes"))))


async def delete_identity(request: web.Request) -> web.Response:
    request.app[IDENTITIES].delete(_known_identity(request))
    return web.Response(status=204)


async def revoke_access_tokens(request: web.Request) -> web.Response:
    request.app[IDENTITIES].revoke_tokens(_known_identity(request))
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register the Identity routes."""
    app.router.add_post("/identities", create_identity)
    app.router.add_post("/identities/{id}/:issueAccessToken", issue_access_token)
    app.router.add_post("/identities/{id}/:revokeAccessTokens", revoke_access_tokens)
    app.router.add_delete("/identities/{id}", delete_identity)
