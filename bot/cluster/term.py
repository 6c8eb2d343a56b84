"""One term of leadership: what the leading replica builds, starts and stops.

A term gets fresh services (message bus, media scheduler), the event pipeline and the call
commands, starts every handler (which resume what the store says was under way, as after a
restart), reprocesses the unfinished events of the inbox, asks ACS about the live calls, and,
when other replicas share the store, keeps reading the inbox for what they take in. It ends when
the replica stops leading or shuts down: background work stops, queued events are dropped (the
inbox keeps them for the next leader) and the handlers stop, newest first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from bot import keys
from bot.bus import MessageBus
from bot.calls import CallCommands
from bot.connect import RoomConnector
from bot.events import CallEvent
from bot.handlers import Handler
from bot.media.scheduler import MediaScheduler
from bot.messages import EndForEveryone
from bot.notify import Notifier
from bot.pipeline import EventPipeline
from bot.services import BotServices
from bot.stopping import cancel_and_wait

logger = logging.getLogger(f"roombot.{__name__}")


class Term:
    def __init__(self, app: web.Application, replica_id: str) -> None:
        self._app = app
        self._replica_id = replica_id
        self._started: list[Handler] = []
        self._tasks: list[asyncio.Task[object]] = []
        self._services: BotServices | None = None
        self._connector: RoomConnector | None = None

    def _new_services(self) -> BotServices:
        app, settings = self._app, self._app[keys.SETTINGS]
        notify_secret = settings.notify_secret.get_secret_value() if settings.notify_secret else None
        return BotServices(
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
            replica_id=self._replica_id,
        )

    async def begin(self) -> None:
        app = self._app
        services = self._services = self._new_services()
        app[keys.SERVICES] = services
        intake = app[keys.INTAKE]
        # Another replica may have written the records since this one last led.
        services.registry.forget_cached()
        commands = CallCommands(services, intake.submit)
        app[keys.COMMANDS] = commands
        services.bus.handle(EndForEveryone, commands.end_for_everyone)
        self._connector = RoomConnector(commands, services.registry, services.notifier)
        app[keys.CONNECTOR] = self._connector
        for handler in app[keys.HANDLERS]:
            await handler.start(services)
            self._started.append(handler)
        # Resuming may ask other handlers for work: every one of them is registered by now.
        for handler in self._started:
            resume = getattr(handler, "resume", None)
            if resume is not None:
                await resume()
        pipeline = EventPipeline(services, app[keys.HANDLERS])
        feed = app[keys.FEED]

        async def process(event: CallEvent) -> bool:
            done = await pipeline.process(event)
            # The operator console's live view: what changed, and in which call.
            if done and feed.listeners:
                feed.call_changed(event.call_connection_id, None, event.type)
            return done

        intake.process_with(process)
        # What a crash, or the replica that led before, left unfinished goes first.
        recovered = await intake.recover()
        if recovered:
            logger.info("processing %d unfinished events", recovered)
        # In the background: a slow or unreachable ACS must not delay start-up.
        self._spawn(commands.reconcile(), "reconcile-live-calls")
        if services.store.shared:
            self._spawn(intake.poll(), "inbox-poll")

    def _spawn(self, work: Coroutine[Any, Any, object], name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    async def end(self) -> None:
        # The waits for room calls connect through this term's commands: they go first.
        if self._connector is not None:
            await self._connector.close()
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        await self._app[keys.INTAKE].pause()
        for handler in reversed(self._started):
            try:
                await handler.stop()
            except Exception:
                logger.exception("handler %s failed to stop", handler.name)
        self._started.clear()
        if self._services is not None:
            await self._services.media.close()
