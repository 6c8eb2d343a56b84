"""`recording`: record room calls, after telling everyone.

When the bot joins a room's call (CallConnected) and the room is switched on (through
``POST /api/rooms/{roomId}/recording/start``) or ``record_every_call`` is set, everyone hears the
consent prompt, then ACS records the call. Pause, resume and stop come through ``/api`` and
``/ops``; the recording ends with the call. When ACS reports the file ready (Event Grid
``RecordingFileStatusUpdated``, which the core publishes on the bus), its locations are kept on
the call's recording record (``GET /ops/calls/{id}/recording``) and posted once to ``NOTIFY_URL``
as ``recording.fileReady``; with ``download_dir`` set the file is downloaded there first.

Configuration (``ROOMBOT_HANDLERS='{"recording": {...}}'``): ``record_every_call``, ``consent``
(a prompt: text, ssml or audioUrl), ``download_dir``, ``content_type``/``channel_type``/
``format_type`` (audio, mixed, wav by default), ``keep_finished_days``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, ClassVar

from aiohttp import web
from pydantic import BaseModel

from bot.events import CallConnected, CallDisconnected, CallEvent, RecordingStateChanged
from bot.handlers import BaseHandler, CallContext
from bot.messages import EventGridNotification
from bot.services import BotServices
from bot.state.base import CallRecord
from bot.stopping import cancel_and_wait
from handlers.recording.model import CallRecording, RecordingConfig, Status
from handlers.recording.routes import OPENAPI_PATHS, recording_routes
from handlers.recording.service import CALLS, Recorder

logger = logging.getLogger(f"roombot.{__name__}")


class RecordingHandler(BaseHandler):
    name: ClassVar[str] = "recording"
    events: ClassVar[tuple[type[CallEvent], ...]] = (CallConnected, RecordingStateChanged, CallDisconnected)
    Config: ClassVar[type[BaseModel]] = RecordingConfig

    def __init__(self, config: RecordingConfig) -> None:
        self.config = config
        self._recorder: Recorder | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._routes = recording_routes(self)

    @property
    def recorder(self) -> Recorder:
        if self._recorder is None:
            raise RuntimeError("the recording handler is used before the bot started")
        return self._recorder

    # What the routes ask (``RecordingDesk``): declared before start-up, served by the recorder.

    async def get(self, call_connection_id: str) -> CallRecording | None:
        return await self.recorder.get(call_connection_id)

    async def room_enabled(self, room_id: str) -> bool:
        return await self.recorder.room_enabled(room_id)

    async def enable_room(self, room_id: str) -> None:
        await self.recorder.enable_room(room_id)

    async def disable_room(self, room_id: str) -> None:
        await self.recorder.disable_room(room_id)

    async def begin(self, call: CallRecord) -> CallRecording:
        return await self.recorder.begin(call)

    async def act(self, call_connection_id: str, action: str) -> CallRecording:
        return await self.recorder.act(call_connection_id, action)

    async def start(self, services: BotServices) -> None:
        await super().start(services)
        self._recorder = Recorder(self.config, services, self._spawn)
        services.bus.subscribe(EventGridNotification, self._recorder.file_ready)
        await self._resume(services)

    async def _resume(self, services: BotServices) -> None:
        """After a restart: a consent that was playing plays again; a call that ended while the
        bot was down has its recording marked stopped (its file can still arrive)."""
        await self.recorder.prune()
        for doc in await services.store.list_docs(CALLS):
            call_id = doc["callConnectionId"]
            if doc["status"] not in (Status.CONSENTING, Status.STARTING, Status.ACTIVE, Status.PAUSED):
                continue
            call = await services.registry.get(call_id)
            if call is None or not call.is_live:
                await self.recorder.call_ended(call_id)
            elif doc["status"] == Status.CONSENTING:
                self._spawn(self.recorder.run(call_id), f"recording:{call_id}")

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    async def on_event(self, event: CallEvent, ctx: CallContext) -> None:
        if isinstance(event, CallConnected):
            if ctx.call.ended_at is None and await self.recorder.wanted(ctx.room_id):
                await self.recorder.begin(ctx.call)
        elif isinstance(event, RecordingStateChanged):
            await self.recorder.state_changed(event)
        elif isinstance(event, CallDisconnected):
            await self.recorder.call_ended(ctx.call_connection_id)

    def routes(self) -> Iterable[web.RouteDef]:
        return self._routes

    def openapi_paths(self) -> Mapping[str, Any]:
        return OPENAPI_PATHS

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s failed", task.get_name(), exc_info=task.exception())
