"""The registered claims of a callback token (RFC 7519 §4.1), checked as PyJWT's `decode` checked
them for the bot: ``exp``, ``iss`` and ``aud`` required; ``iat``, ``nbf`` and ``exp`` against the
clock with the leeway; ``iss`` equal to the OpenID configuration's issuer; the bot's audience among
``aud``; ``sub`` and ``jti``, when present, strings. The checks run in PyJWT's order, so a token
wrong in several ways is refused for the same reason as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REQUIRED = ("exp", "iss", "aud")


class ClaimError(Exception):
    """A claim is missing or wrong; ``reason`` says which, in a few words safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _numeric_date(claims: Mapping[str, Any], name: str) -> int:
    """A NumericDate claim as whole seconds (as PyJWT read it: `int()` of a JSON number)."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimError("malformed token")
    try:
        return int(value)
    except (ValueError, OverflowError):
        raise ClaimError("malformed token") from None


def check_claims(claims: Mapping[str, Any], *, issuer: str, audience: str, now: float, leeway: float) -> None:
    """Raise ClaimError unless the claims are acceptable at ``now`` (seconds since the epoch)."""
    for name in REQUIRED:
        if claims.get(name) is None:
            raise ClaimError(f"token lacks the {name!r} claim")
    if "iat" in claims and _numeric_date(claims, "iat") > now + leeway:
        raise ClaimError("token not yet valid")
    if "nbf" in claims and _numeric_date(claims, "nbf") > now + leeway:
        raise ClaimError("token not yet valid")
    if _numeric_date(claims, "exp") <= now - leeway:
        raise ClaimError("token expired")
    if claims["iss"] != issuer or not isinstance(claims["iss"], str):
        raise ClaimError("wrong issuer")
    _check_audience(claims["aud"], audience)
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise ClaimError("malformed token")


def _check_audience(aud: object, audience: str) -> None:
    if not aud:
        raise ClaimError("token lacks the 'aud' claim")
    listed = [aud] if isinstance(aud, str) else aud
    if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed):
        raise ClaimError("wrong audience")
    # An unset audience matches no token, not a token listing an empty string.
    if not audience or audience not in listed:
        raise ClaimError("wrong audience")
