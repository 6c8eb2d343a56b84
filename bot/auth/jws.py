"""A compact JWS (RFC 7515 §7.1) taken apart and its RS256 signature checked with `cryptography`.

PyJWT did the same work at more than twice the cost: it checks every base64url character in
Python (a generator over the 342-character signature) and decodes the header twice. Here decoding
is `binascii`'s strict C code and JSON is orjson's, with PyJWT's strictness kept or tightened: only
the base64url alphabet and no padding (PyJWT let padding through; ACS sends none), the canonical
encoding only (a segment whose unused trailing bits are set is refused, so one signature has one
spelling), a JSON object as header and payload, and the signature verified with
RSASSA-PKCS1-v1_5 over SHA-256 (RFC 7518 §3.3) on the exact bytes that were signed.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256

# base64url to the standard alphabet for `binascii`; "+", "/" and "=" have no place in base64url
# (RFC 7515 §2: no padding) and become "!", which binascii's strict mode refuses.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
# The characters a canonical segment may end with, by its length modulo 4: the unused low bits of
# the last character (4 of them after 2 characters, 2 after 3) must be zero.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


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
    """Decode one base64url segment without padding, refusing any other alphabet and any
    non-canonical spelling (two spellings of one value differ only in the last character's unused
    bits)."""
    encoded = segment.encode()
    try:
        data = binascii.a2b_base64(
            encoded.translate(_TO_STANDARD) + b"=" * (-len(encoded) % 4), strict_mode=True
        )
    except binascii.Error as exc:
        raise MalformedToken(str(exc)) from None
    tail = len(encoded) % 4
    if tail and segment[-1] not in _CANONICAL_LAST[tail]:
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
    """Take ``token`` apart; raise MalformedToken unless all three segments are well formed (the
    signature may be empty, as with "alg": "none": such a token is then refused for its algorithm,
    which says more)."""
    segments = token.split(".")
    if len(segments) != 3 or not segments[0] or not segments[1]:
        raise MalformedToken("not three base64url segments")
    header_segment, payload_segment, signature_segment = segments
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
