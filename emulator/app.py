"""The emulator's application factory: it builds every service, stores each under its app key
(`emulator.keys`) and hands the route modules what they serve. Services never read app keys, so
no service imports the keys module or the factory: dependencies point one way, from here down."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from emulator import control
from emulator.calls import hold_routes, participant_routes, unsupported
from emulator.calls import routes as call_routes
from emulator.calls.media import routes as media_routes
from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.console import wiring as console
from emulator.console.deliveries import DeliveryLog
from emulator.console.live import Changes
from emulator.delivery import eventgrid
from emulator.delivery.callbacks import CallbackDispatcher
from emulator.delivery.client_session import client_session_context
from emulator.delivery.eventgrid import EventGridPublisher, topic_for
from emulator.delivery.signing import CallbackSigner, key_routes
from emulator.faults import Faults, fault_middleware, fault_routes
from emulator.identity import routes as identity
from emulator.identity.store import IdentityStore
from emulator.keys import (
    CALLBACKS,
    CHANGES,
    CLOCK,
    CONFIG,
    DELIVERIES,
    EVENT_GRID,
    FAULTS,
    IDENTITIES,
    PHONES,
    PUBLIC_URL,
    REPEATABILITY,
    REQUEST_LOG,
    ROOMS,
    SIGNER,
)
from emulator.phones import PhoneBook, phone_routes
from emulator.protocol.echo import echo_client_request_id
from emulator.protocol.errors import AcsError, error_middleware
from emulator.protocol.hmac_auth import hmac_middleware
from emulator.protocol.repeatability import RepeatabilityCache, repeatability_middleware
from emulator.protocol.requestlog import RequestLog, request_log_middleware
from emulator.protocol.versions import api_version_middleware
from emulator.recording import routes as recording_routes
from emulator.rooms import routes as room_routes
from emulator.rooms.model import RoomStore
from emulator.urls import PublicUrl

CONTROL_PREFIX = "/emulator/"
# Served without HMAC, as ACS serves its callback signing keys publicly.
KEY_PATHS = ("/calling/keys", "/calling/.well-known/acsopenidconfiguration")


def is_public(path: str) -> bool:
    return path.startswith(CONTROL_PREFIX) or path in KEY_PATHS


def is_acs_request(path: str) -> bool:
    return not is_public(path)


def has_no_api_version(path: str) -> bool:
    """Public paths, and recording files (their locations carry no api-version)."""
    return is_public(path) or recording_routes.is_content_path(path)


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
    public_url = PublicUrl(config.public_url)
    request_log = RequestLog()
    repeatability = RepeatabilityCache(config.repeatability_ttl_seconds)
    faults = Faults()
    app = web.Application(
        middlewares=[
            request_log_middleware(request_log, is_acs_request),
            error_middleware,
            _loopback_guard(config.control_loopback_only),
            hmac_middleware(
                config.access_key,
                config.max_clock_skew_seconds,
                is_public,
                public_host=lambda: urlsplit(public_url.value).netloc,
            ),
            api_version_middleware(has_no_api_version),
            fault_middleware(faults, is_public),
            repeatability_middleware(repeatability),
        ]
    )
    app.on_response_prepare.append(echo_client_request_id)
    app[CONFIG] = config
    app[PUBLIC_URL] = public_url
    app[CLOCK] = Clock(config.time_scale)
    app[ROOMS] = RoomStore()
    app[IDENTITIES] = IdentityStore(config.resource_id)
    app[REQUEST_LOG] = request_log
    app[REPEATABILITY] = repeatability
    app[FAULTS] = faults
    app[PHONES] = PhoneBook()
    app[DELIVERIES] = DeliveryLog(app[CLOCK].now)
    app[CHANGES] = Changes()
    _delivery(app)
    room_routes.setup(app)
    identity.setup(app)
    call_routes.setup(app)
    participant_routes.setup(app)
    media_routes.setup(app)
    hold_routes.setup(app)
    unsupported.setup(app)
    recording_routes.setup(app, storage_url=lambda: config.storage_url(public_url.value))
    app.add_routes(phone_routes(app[PHONES]))
    app.add_routes(fault_routes(faults))
    control.setup(app)
    console.setup(app)
    return app


def mint_callback_token(app: web.Application) -> str:
    """A token for one callback delivery: issuer as configured (``--issuer``; by default the real
    service's), audience the resource id (``--resource-id``), lifetime as configured (5 minutes,
    like ACS)."""
    config = app[CONFIG]
    return app[SIGNER].mint(
        issuer=config.issuer,
        audience=config.resource_id,
        now=app[CLOCK].now(),
        lifetime_seconds=config.callback_token_lifetime_seconds,
    )


def _delivery(app: web.Application) -> None:
    """What the emulator sends out: signed callbacks and Event Grid events. Their HTTP sessions
    live for as long as the app runs, and they are torn down after the call service."""
    signer = CallbackSigner()
    app[SIGNER] = signer
    app.add_routes(key_routes(signer, app[CONFIG].issuer, app[PUBLIC_URL]))
    dispatcher = CallbackDispatcher(token=lambda: mint_callback_token(app), clock=app[CLOCK])
    dispatcher.faults = app[FAULTS]
    app[CALLBACKS] = dispatcher
    deliveries = app[DELIVERIES]
    app.cleanup_ctx.append(
        client_session_context(dispatcher, dispatcher.close, [deliveries.trace_config("callback")])
    )
    publisher = EventGridPublisher(
        clock=app[CLOCK],
        topic=topic_for(app[CONFIG].resource_id),
        public_url=lambda: app[PUBLIC_URL].value,
    )
    app[EVENT_GRID] = publisher
    app.add_routes(eventgrid.routes())
    app.cleanup_ctx.append(
        client_session_context(publisher, publisher.close, [deliveries.trace_config("eventgrid")])
    )
