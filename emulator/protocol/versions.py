"""The `api-version` query parameter: required, and one of the versions each API family serves."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from emulator.protocol.errors import AcsError

# The stable versions of the REST specs, and the preview versions real answers list in their
# ``api-supported-versions`` header (recorded live traffic, ``Azure/azure-sdk-assets``), which
# the SDKs' beta releases speak. Every answer lists the family's versions in that header too.
ROOMS_VERSIONS = frozenset({"2023-06-14", "2023-10-30-preview", "2024-04-15", "2025-03-13"})
CALL_AUTOMATION_VERSIONS = frozenset(
    {
        "2023-03-06",
        "2023-10-15",
        "2024-04-15",
        "2024-09-01-preview",
        "2024-09-15",
        "2024-11-15-preview",
        "2025-03-30-preview",
        "2025-05-15",
        "2025-06-15",
        "2025-08-15-preview",
        "2026-03-12",
    }
)
IDENTITY_VERSIONS = frozenset(
    {"2021-03-07", "2021-11-01", "2022-06-01", "2022-10-01", "2023-10-01", "2025-03-02-preview", "2025-06-30"}
)
SUPPORTED_HEADER = "api-supported-versions"


# The SDKs' generated paging code sets the api-version of a nextLink request to the client's
# `ApiVersion` enum member, which azure-core writes as `ApiVersion.V2025_03_13` on Python 3.11.
# The emulator reads that spelling as the version it names, so that paging works unchanged.
_ENUM_SPELLING = re.compile(r"ApiVersion\.V(\d{4})_(\d{2})_(\d{2})")


def normalize_version(raw: str) -> str:
    match = _ENUM_SPELLING.fullmatch(raw)
    return "-".join(match.groups()) if match else raw


def versions_for(path: str) -> frozenset[str] | None:
    if path.startswith("/rooms"):
        return ROOMS_VERSIONS
    if path.startswith("/calling"):
        return CALL_AUTOMATION_VERSIONS
    if path.startswith("/identities"):
        return IDENTITY_VERSIONS
    return None


def api_version_middleware(is_public: Callable[[str], bool]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_public(request.path):
            return await handler(request)
        supported = versions_for(request.path)
        raw_version = request.query.get("api-version")
        if raw_version is None:
            raise AcsError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        version = normalize_version(raw_version)
        if supported is not None and version not in supported:
            raise AcsError(
                400,
                "UnsupportedApiVersion",
                f"The HTTP resource that matches the request URI '{request.path}' does not support "
                f"the API version '{version}'. Supported: {', '.join(sorted(supported))}.",
            )
        response = await handler(request)
        if supported is not None and not response.prepared:
            response.headers[SUPPORTED_HEADER] = ", ".join(sorted(supported))
        return response

    return middleware
