"""HMAC-SHA256 request authentication, as ACS verifies it.

The signed string is ``VERB\\npath_and_query\\nx-ms-date;host;x-ms-content-sha256``, keyed with
the base64-decoded access key. The Rooms SDK URL-decodes the path before signing while the
others sign it as sent, so both forms are accepted. The SDKs percent-encode a path parameter
whole (``8%3Aacs%3A...``) before signing, but the async clients' aiohttp transport then
re-normalizes the URL (``8:acs:...``), so the form with every segment encoded is accepted too.

A request refused is 401. Call Automation answers it in a shape of its own, PascalCase keys and
code 7509, the path as target: ``{"Error": {"Code": "7509", "Message": "HMAC-SHA256 validation
failed", "Target": "/calling/callConnections:answer"}}`` (as users of the real service report it,
``microsoft/call-center-ai#498``, ``Azure-Samples/communication-services-dotnet-quickstarts#220``);
the SDKs raise ClientAuthenticationError on the status alone. Rooms and Identity answer the
emulator's ``Denied`` body (their real one is not on record).

The signed host is normally the ``Host`` header. Recording downloads are signed for the
resource's endpoint but sent to the storage location (the SDKs send ``x-ms-host`` along, the
Python one without the port), so the ``x-ms-host`` value and the emulator's own public host are
accepted as the signed host too: all three name this resource.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from emulator.protocol.errors import CALL_AUTOMATION_PREFIX, AcsError

_AUTH_RE = re.compile(r"^HMAC-SHA256 SignedHeaders=(?P<headers>[^&]+)&Signature=(?P<sig>.+)$")
_REQUIRED_SIGNED_HEADERS = ["x-ms-date", "host", "x-ms-content-sha256"]


def denied(message: str = "Denied by the resource provider.") -> AcsError:
    """The 401 ACS gives for a bad or missing HMAC signature."""
    return AcsError(401, "Denied", message)


def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _same(a: str, b: str) -> bool:
    """Constant-time comparison of header values. ``compare_digest`` refuses non-ASCII str, and
    a header may carry any byte, so the values are compared as bytes."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def _duration(seconds: float) -> str:
    if seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"


def sign(access_key: str, verb: str, path_and_query: str, date: str, host: str, body_hash: str) -> str:
    """The signature a client computes; used by the verifier and by tests."""
    string_to_sign = f"{verb.upper()}\n{path_and_query}\n{date};{host};{body_hash}"
    # surrogatepass: a header aiohttp could not decode holds lone surrogates; it must not crash.
    message = string_to_sign.encode("utf-8", "surrogatepass")
    digest = hmac.new(base64.b64decode(access_key), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(
    *,
    access_key: str,
    method: str,
    raw_path_and_query: str,
    host: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    max_skew_seconds: float,
    alternative_hosts: Sequence[str] = (),
) -> None:
    """Raise the 401 AcsError unless the request is signed with ``access_key``.

    ``headers`` must have lower-case names.
    """
    match = _AUTH_RE.match(headers.get("authorization", ""))
    if match is None:
        raise denied()
    if match["headers"].split(";") != _REQUIRED_SIGNED_HEADERS:
        raise denied()
    date = headers.get("x-ms-date", "")
    try:
        sent_at = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise denied() from None
    if sent_at.tzinfo is None or abs((now - sent_at).total_seconds()) > max_skew_seconds:
        raise denied(f"The request time is outside the allowed skew of {_duration(max_skew_seconds)}.")
    declared_hash = headers.get("x-ms-content-sha256", "")
    if not _same(declared_hash, content_hash(body)):
        raise denied()
    given = match["sig"]
    path, question, query = raw_path_and_query.partition("?")
    encoded = (quote(unquote(s), safe="", errors="surrogatepass") for s in path.split("/"))
    segments_encoded = "/".join(encoded) + question + query
    hosts = dict.fromkeys([host, *alternative_hosts])
    for signed_host in hosts:
        for path in {raw_path_and_query, unquote(raw_path_and_query), segments_encoded}:
            expected = sign(access_key, method, path, date, signed_host, declared_hash)
            if _same(expected, given):
                return
    raise denied()


def hmac_middleware(
    access_key: str,
    max_skew_seconds: float,
    is_public: Callable[[str], bool],
    public_host: Callable[[], str] = lambda: "",
) -> Middleware:
    """Middleware verifying every request whose path is not public; ``public_host`` is the
    ``host[:port]`` the emulator is reached at (known once it is bound)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_public(request.path):
            return await handler(request)
        body = await request.read()
        try:
            _verify_request(request, body)
        except AcsError:
            if request.path.startswith(CALL_AUTOMATION_PREFIX):
                return call_automation_denied(request.path)
            raise
        return await handler(request)

    def _verify_request(request: web.Request, body: bytes) -> None:
        verify(
            access_key=access_key,
            method=request.method,
            raw_path_and_query=request.raw_path,
            host=request.headers.get("Host", ""),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            now=datetime.now(UTC),
            max_skew_seconds=max_skew_seconds,
            alternative_hosts=[h for h in (request.headers.get("x-ms-host", ""), public_host()) if h],
        )

    return middleware


def call_automation_denied(path: str) -> web.Response:
    """Call Automation's 401 (see the module's text)."""
    body = {"Error": {"Code": "7509", "Message": "HMAC-SHA256 validation failed", "Target": path}}
    return web.json_response(body, status=401)
