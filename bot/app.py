"""The bot's application factory. Nothing happens at import; every resource lives in a cleanup
context so that teardown runs in reverse order, and only for what started."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import suppress

import aiohttp
from aiohttp import web

from bot import keys
from bot.acs import AcsFacade
from bot.auth.api_keys import ApiKeys
from bot.auth.callback_jwt import CallbackVerifier
from bot.bus import MessageBus
from bot.calls import CallCommands
from bot.checks import check_references, check_speech
from bot.connect import RoomConnector
from bot.dispatch import CallDispatcher
from bot.handlers import HandlerFactory
from bot.logs import call_scoped, log_context_middleware
from bot.media.scheduler import MediaScheduler
from bot.messages import EndForEveryone
from bot.metrics import Metrics
from bot.notify import Notifier
from bot.pipeline import EventPipeline
from bot.plugins import discover, handler_configs, instantiate
from bot.problems import problem_middleware
from bot.registry import CallRegistry
from bot.routes import setup_routes
from bot.services import BotServices
from bot.state import open_store
from config.settings import Settings


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[keys.HTTP] = session
        yield


async def _state_store(app: web.Application) -> AsyncIterator[None]:
    store = await open_store(app[keys.SETTINGS].state_url)
    app[keys.STORE] = store
    app[keys.REGISTRY] = CallRegistry(store)
    try:
        yield
    finally:
        await store.close()


async def _acs(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    if settings.acs_connection_string is None:
        raise RuntimeError("ROOMBOT_ACS_CONNECTION_STRING is not set")
    facade = AcsFacade.from_settings(settings)
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


async def _handlers(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    notify_secret = settings.notify_secret.get_secret_value() if settings.notify_secret else None
    services = BotServices(
        settings=settings,
        acs=app[keys.ACS],
        store=app[keys.STORE],
        registry=app[keys.REGISTRY],
        http=app[keys.HTTP],
        notifier=Notifier(
            app[keys.HTTP], str(settings.notify_url) if settings.notify_url else None, notify_secret
        ),
        metrics=app[keys.METRICS],
        bus=MessageBus(),
        media=MediaScheduler(),
    )
    app[keys.SERVICES] = services
    started = []
    try:
        for handler in app[keys.HANDLERS]:
            await handler.start(services)
            started.append(handler)
        yield
    finally:
        for handler in reversed(started):
            await handler.stop()
        await services.media.close()


async def _dispatcher(app: web.Application) -> AsyncIterator[None]:
    pipeline = EventPipeline(app[keys.SERVICES], app[keys.HANDLERS])
    dispatcher = CallDispatcher(call_scoped(pipeline.process))
    app[keys.DISPATCHER] = dispatcher
    # The commands submit events too (early ones, made-up CallDisconnecteds): made with the
    # dispatcher, which is closed before the handlers stop.
    commands = CallCommands(app[keys.SERVICES], dispatcher.submit)
    app[keys.COMMANDS] = commands
    app[keys.SERVICES].bus.handle(EndForEveryone, commands.end_for_everyone)
    connector = RoomConnector(commands, app[keys.REGISTRY], app[keys.SERVICES].notifier)
    app[keys.CONNECTOR] = connector
    try:
        yield
    finally:
        # The waits for room calls connect through the dispatcher's commands: they go first.
        await connector.close()
        await dispatcher.close()


async def _reconcile(app: web.Application) -> AsyncIterator[None]:
    # In the background: a slow or unreachable ACS must not delay start-up.
    task = asyncio.create_task(app[keys.COMMANDS].reconcile(), name="reconcile-live-calls")
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


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
    app = web.Application(
        middlewares=[log_context_middleware, problem_middleware], client_max_size=settings.max_body_bytes
    )
    app[keys.SETTINGS] = settings
    app[keys.HANDLERS] = handlers
    app[keys.METRICS] = Metrics()
    app[keys.API_KEYS] = ApiKeys(backend=set(settings.backend_api_keys), ops=set(settings.ops_api_keys))
    app.cleanup_ctx.extend([_http_session, _state_store, _acs, _verifier, _handlers, _dispatcher, _reconcile])
    setup_routes(app)
    for handler in handlers:
        app.router.add_routes(list(handler.routes()))
    return app
