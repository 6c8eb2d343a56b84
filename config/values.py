"""Checks of single setting values: the connection string, the state store URL, the resource id.

Each raises ValueError with a message that completes "ROOMBOT_<NAME>: ...", and never echoes a
secret (access keys, Redis passwords).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BeforeValidator, Strict

STATE_URL_SCHEMES = ("memory", "sqlite", "redis", "rediss")
# The immutable resource id the Azure portal shows (Overview > JSON view, or `az communication
# show --query immutableResourceId`) is a GUID in its 8-4-4-4-12 form; ACS signs callback JWTs
# with it as `aud`, so anything else can only make every callback fail verification.
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def parse_connection_string(connection_string: str) -> tuple[str, str]:
    """Split `endpoint=<url>;accesskey=<base64>` into (endpoint with its scheme, access key).

    Unlike the SDKs' own parser the scheme is kept, so `http://` reaches the local emulator.
    Key names are case-insensitive and their order free, as in the Azure portal's strings.
    Raises ValueError naming the problem but never echoing the key.
    """
    parts: dict[str, str] = {}
    for segment in connection_string.strip().split(";"):
        if not segment.strip():
            continue
        name, sep, value = segment.partition("=")
        if not sep:
            raise ValueError("must be 'endpoint=<url>;accesskey=<base64 key>'")
        parts[name.strip().lower()] = value.strip()
    endpoint = parts.get("endpoint", "")
    access_key = parts.get("accesskey", "")
    if not endpoint or not access_key:
        raise ValueError("must contain both endpoint=<url> and accesskey=<base64 key>")
    url = urlsplit(endpoint)
    if url.scheme not in {"http", "https"} or not url.hostname:
        raise ValueError("endpoint must be an http:// or https:// URL with a host")
    try:
        base64.b64decode(access_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("accesskey must be valid base64") from exc
    return endpoint.rstrip("/"), access_key


def check_state_url(value: str) -> str:
    """`sqlite:///<path>`, `memory://` or `redis[s]://host:port/<db>` with an integer db."""
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in STATE_URL_SCHEMES:
        raise ValueError("must be sqlite:///<path>, memory:// or redis://host:port/db")
    if scheme == "sqlite" and not rest.startswith("/"):
        raise ValueError("sqlite URLs take three slashes: sqlite:///<path>")
    if scheme == "sqlite" and rest == "/":
        raise ValueError("sqlite URL has no file path")
    if scheme in ("redis", "rediss"):
        _check_redis_url(value)
    return value


def _check_redis_url(value: str) -> None:
    # redis-py reads the database from the path and quietly falls back to 0 when it is not a
    # number: a typo would then share database 0 with whatever else uses it.
    parts = urlsplit(value)
    if not parts.hostname:
        raise ValueError("a Redis URL needs a host: redis://host:port/db")
    try:
        parts.port  # noqa: B018 (urlsplit checks the port only when it is read)
    except ValueError:
        raise ValueError("the Redis port must be a number: redis://host:port/db") from None
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise ValueError(
            f"the Redis database must be an integer, as in redis://host:port/0, not {database!r}"
        )
    if "db" in parse_qs(parts.query):
        raise ValueError("give the Redis database in the path (redis://host:port/0), not as ?db=")


def check_resource_id(value: str | None) -> str | None:
    """The ACS resource's immutable id: a GUID, kept lower-case as ACS writes it in `aud`."""
    if value is None:
        return None
    value = value.strip()
    if not GUID.fullmatch(value):
        raise ValueError(
            "must be the ACS resource's immutable resource id, a GUID like "
            "7e0c9d55-2a4b-4f7e-9a61-0e51a7000001 (Azure portal: the resource's JSON view, "
            "immutableResourceId)"
        )
    return value.lower()


def whole_number(value: Any) -> Any:
    """A JSON number without a fraction as an int (JSON Schema counts 1027.0 as an integer);
    anything else is left for a strict int check to refuse (strings, booleans, 1.5)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def split_keys(value: Any) -> Any:
    """Environment values are comma-separated lists; Python callers may pass any iterable."""
    if isinstance(value, str):
        return {key.strip() for key in value.split(",") if key.strip()}
    return value


# An integer field of a JSON body: 5 and 5.0 (both JSON Schema integers), not "5", true or 5.5.
JsonInt = Annotated[int, Strict(), BeforeValidator(whole_number)]
