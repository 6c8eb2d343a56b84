"""The emulator's application factory."""

from __future__ import annotations

import ipaddress

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from emulator import control, faults, identity, phones, signing
from emulator.calls import hold_routes, media_routes, participant_routes
from emulator.calls import routes as call_routes
from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.errors import AcsError, error_middleware
from emulator.hmac_auth import hmac_middleware
from emulator.identity_store import IdentityStore
from emulator.keys import (
    CLOCK,
    CONFIG,
    IDENTITIES,
    PUBLIC_URL,
    REPEATABILITY,
    REQUEST_LOG,
    ROOMS,
    PublicUrl,
)
from emulator.repeatability import RepeatabilityCache, repeatability_middleware
from emulator.requestlog import RequestLog, request_log_middleware
from emulator.rooms import routes as room_routes
from emulator.rooms.model import RoomStore
from emulator.versions import api_version_middleware

CONTROL_PREFIX = "/emulator/"
# Served without HMAC, as ACS serves its callback signing keys publicly.
KEY_PATHS = ("/calling/keys", "/calling/.well-known/acsopenidconfiguration")


def is_public(path: str) -> bool:
    return path.startswith(CONTROL_PREFIX) or path in KEY_PATHS


def is_acs_request(path: str) -> bool:
    return not is_public(path)


def _loopback_guard(enabled: bool) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if enabled and request.path.startswith(CONTROL_PREFIX):
            remote = request.remote or ""
            try:
                loopback = ipaddress.ip_address(remote).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise AcsError(403, "Forbidden", "The emulator control API answers loopback clients only.")
        return await handler(request)

    return middleware


def create_emulator_app(config: EmulatorConfig | None = None) -> web.Application:
    """Build the emulator application; nothing runs until it is served."""
    config = config or EmulatorConfig()
    request_log = RequestLog()
    repeatability = RepeatabilityCache(config.repeatability_ttl_seconds)
    app = web.Application(
        middlewares=[
            request_log_middleware(request_log, is_acs_request),
            error_middleware,
            _loopback_guard(config.control_loopback_only),
            hmac_middleware(config.access_key, config.max_clock_skew_seconds, is_public),
            api_version_middleware(is_public),
            faults.fault_middleware(is_public),
            repeatability_middleware(repeatability),
        ]
    )
    app[CONFIG] = config
    app[PUBLIC_URL] = PublicUrl(config.public_url)
    app[CLOCK] = Clock(config.time_scale)
    app[ROOMS] = RoomStore()
    app[IDENTITIES] = IdentityStore(config.resource_id)
    app[REQUEST_LOG] = request_log
    app[REPEATABILITY] = repeatability
    room_routes.setup(app)
    identity.setup(app)
    signing.setup(app)
    call_routes.setup(app)
    participant_routes.setup(app)
    media_routes.setup(app)
    hold_routes.setup(app)
    phones.setup(app)
    faults.setup(app)
    control.setup(app)
    return app
