"""The bot's application factory. Nothing happens at import; every resource lives in a cleanup
context so that teardown runs in reverse order, and only for what started."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping

import aiohttp
from aiohttp import web

from bot import keys
from bot.acs import AcsFacade
from bot.auth.api_keys import ApiKeys
from bot.auth.callback_jwt import CallbackVerifier
from bot.checks import check_references, check_speech
from bot.cluster.election import Election
from bot.cluster.forward import forward_middleware
from bot.cluster.term import Term
from bot.console import page as console_page
from bot.console import stream as console_stream
from bot.console import timeline as console_timeline
from bot.console.feed import LiveFeed
from bot.console.roles import RoleBook
from bot.handlers import HandlerFactory
from bot.intake import EventIntake
from bot.logs import log_context_middleware
from bot.metrics import Metrics, count_acs_actions, http_metrics
from bot.plugins import discover, handler_configs, instantiate
from bot.problems import problem_middleware
from bot.registry import CallRegistry
from bot.routes import setup_routes
from bot.state import RedisStateStore, open_store
from bot.state.housekeeping import housekeep_forever
from bot.stopping import cancel_and_wait
from config.settings import Settings


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[keys.HTTP] = session
        yield


async def _state_store(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store = await open_store(
        settings.state_url,
        redis_prefix=settings.redis_prefix,
        redis_pool_size=settings.redis_pool_size,
        redis_pool_timeout=settings.redis_pool_timeout_seconds,
        retention_seconds=settings.retention_days * 86_400,
    )
    app[keys.STORE] = store
    # Only the leading replica writes call records, and it forgets them when a term begins.
    app[keys.REGISTRY] = CallRegistry(store, cache_records=True)
    housekeeping = asyncio.create_task(housekeep_forever(store), name="state-housekeeping")
    try:
        yield
    finally:
        await cancel_and_wait([housekeeping])
        await store.close()


async def _acs(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    if settings.acs_connection_string is None:
        raise RuntimeError("ROOMBOT_ACS_CONNECTION_STRING is not set")
    facade = AcsFacade.from_settings(settings)
    count_acs_actions(facade, app[keys.METRICS])
    app[keys.ACS] = facade
    try:
        yield
    finally:
        await facade.close()


async def _verifier(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.VERIFIER] = CallbackVerifier(
        str(settings.acs_openid_url), settings.acs_resource_id or "", app[keys.HTTP]
    )
    yield


async def _intake(app: web.Application) -> AsyncIterator[None]:
    intake = EventIntake(app[keys.STORE])
    app[keys.INTAKE] = intake
    app[keys.DISPATCHER] = intake.dispatcher
    app[keys.REGISTRY].on_discard = lambda event: intake.completed(event.id)
    try:
        yield
    finally:
        await intake.close()


async def _leadership(app: web.Application) -> AsyncIterator[None]:
    """Lead (at once when alone on the store), and hold terms for as long as this replica leads."""
    settings = app[keys.SETTINGS]
    replica_id = uuid.uuid4().hex
    url = settings.replica_url or settings.callback_base_url
    current: list[Term] = []

    async def lead() -> None:
        term = Term(app, replica_id)
        current.append(term)
        await term.begin()

    async def abdicate() -> None:
        while current:
            await current.pop().end()

    election = Election(
        app[keys.STORE],
        replica_id,
        lease_seconds=settings.lease_seconds,
        url=str(url).rstrip("/") if url else None,
        lead=lead,
        abdicate=abdicate,
    )
    app[keys.ELECTION] = election
    # A replica that is not sure it leads must not act on ACS (see `bot.cluster.election`).
    app[keys.ACS].guard = election.acting
    store = app[keys.STORE]
    if isinstance(store, RedisStateStore):
        # Its writes behind that failed are retried only while this replica leads.
        store.guard = election.acting
    await election.start()
    try:
        yield
    finally:
        await election.close()


async def _close_feed(app: web.Application) -> None:
    app[keys.FEED].close()


def create_app(
    settings: Settings, *, handler_factories: Mapping[str, HandlerFactory] | None = None
) -> web.Application:
    """Build the bot. ``handler_factories`` replaces entry-point discovery (tests, embedding).

    Raises PluginError when a handler cannot be built, refers to something no handler provides,
    or is configured to say text that ACS could not speak (`bot.checks`)."""
    factories = discover() if handler_factories is None else handler_factories
    handlers = instantiate(factories, handler_configs(factories, settings))
    check_references(handlers)
    check_speech(handlers, settings)
    metrics = Metrics()
    app = web.Application(
        middlewares=[http_metrics(metrics), log_context_middleware, problem_middleware, forward_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[keys.SETTINGS] = settings
    app[keys.HANDLERS] = handlers
    app[keys.METRICS] = metrics
    app[keys.API_KEYS] = ApiKeys(backend=set(settings.backend_api_keys), ops=set(settings.ops_api_keys))
    app[keys.FEED] = LiveFeed()
    app[keys.ROLES] = RoleBook(lambda room_id: app[keys.ACS].list_room_participants(room_id))
    app.cleanup_ctx.extend([_http_session, _state_store, _acs, _verifier, _intake, _leadership])
    # Before the server waits for open requests to finish: live streams end here.
    app.on_shutdown.append(_close_feed)
    setup_routes(app)
    for module in (console_page, console_stream, console_timeline):
        app.router.add_routes(module.routes)
    for handler in handlers:
        app.router.add_routes(list(handler.routes()))
    return app
