"""HMAC verification accepts exactly what ``sign`` produces with the right key."""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from emulator.protocol.errors import AcsError
from emulator.protocol.hmac_auth import content_hash, sign, verify

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
MAX_SKEW = 15 * 60.0
SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"
VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

# No "%": a percent-encoded path and its decoded form are the same request to the verifier,
# because the Rooms SDK signs the decoded path.
path_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.:", min_size=1, max_size=12)
paths = st.builds(
    lambda segments, version: "/" + "/".join(segments) + f"?api-version={version}",
    st.lists(path_segment, min_size=1, max_size=4),
    st.sampled_from(["2025-03-13", "2023-10-01", "2026-03-12"]),
)
hosts = st.builds(
    lambda name, port: f"{name}:{port}",
    st.sampled_from(["127.0.0.1", "localhost", "acs.example.communication.azure.com"]),
    st.integers(min_value=1, max_value=65535),
)
keys = st.binary(min_size=1, max_size=64).map(lambda raw: base64.b64encode(raw).decode())
# Within the allowed skew, so that only the signature decides.
dates = st.integers(min_value=-600, max_value=600).map(
    lambda seconds: format_datetime(NOW + timedelta(seconds=seconds), usegmt=True)
)


@dataclass(frozen=True)
class Request:
    key: str
    verb: str
    path: str
    date: str
    host: str
    body: bytes


signed_requests = st.builds(
    Request, keys, st.sampled_from(VERBS), paths, dates, hosts, st.binary(max_size=256)
)


def signed_headers(sent: Request, key: str | None = None) -> dict[str, str]:
    body_hash = content_hash(sent.body)
    signature = sign(key or sent.key, sent.verb, sent.path, sent.date, sent.host, body_hash)
    return {
        "authorization": f"HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature={signature}",
        "x-ms-date": sent.date,
        "x-ms-content-sha256": body_hash,
    }


def check(sent: Request, headers: dict[str, str]) -> None:
    verify(
        access_key=sent.key,
        method=sent.verb,
        raw_path_and_query=sent.path,
        host=sent.host,
        headers=headers,
        body=sent.body,
        now=NOW,
        max_skew_seconds=MAX_SKEW,
    )


@given(signed_requests)
def test_a_correctly_signed_request_is_accepted(sent: Request) -> None:
    check(sent, signed_headers(sent))


@given(signed_requests, st.data())
def test_changing_any_one_signed_field_is_denied(sent: Request, data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(["verb", "path", "date", "host", "body"]))
    strategy: dict[str, st.SearchStrategy[Any]] = {
        "verb": st.sampled_from(VERBS),
        "path": paths,
        "date": dates,
        "host": hosts,
        "body": st.binary(),
    }
    new_value = data.draw(strategy[field])
    assume(new_value != getattr(sent, field))
    headers = signed_headers(sent)
    received = replace(sent, **{field: new_value})
    if field == "date":
        headers["x-ms-date"] = received.date
    if field == "body":
        # A client that tampers with the body can also recompute its hash; the signature still fails.
        headers["x-ms-content-sha256"] = content_hash(received.body)
    with pytest.raises(AcsError) as info:
        check(received, headers)
    assert info.value.status == 401


@given(signed_requests, keys)
def test_a_signature_made_with_another_key_is_denied(sent: Request, key: str) -> None:
    assume(base64.b64decode(key) != base64.b64decode(sent.key))
    with pytest.raises(AcsError) as info:
        check(sent, signed_headers(sent, key=key))
    assert info.value.status == 401
