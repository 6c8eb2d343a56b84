"""`end_call`: end a room's call for everyone, on request or when the room's validity ends.

ACS keeps a room call running past the room's ``validUntil`` for whoever is already in it, and
deleting a room does not drop PSTN legs; only ``:terminate`` ends the call for every participant.
This handler schedules that terminate at ``validUntil`` for each call the bot joins, and keeps the
schedule in the state store so that a restarted bot still ends the call on time.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bot.acs import AcsError
from bot.events import CallConnected, CallDisconnected, CallEvent
from bot.handlers import BaseHandler, CallContext
from bot.services import BotServices

logger = logging.getLogger(__name__)

NAMESPACE = "end_call"


class EndCallConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_at_valid_until: bool = Field(
        default=True, description="Terminate the call for everyone when the room's validUntil passes."
    )


class EndCallHandler(BaseHandler):
    name: ClassVar[str] = "end_call"
    Config: ClassVar[type[BaseModel]] = EndCallConfig

    def __init__(self, config: EndCallConfig) -> None:
        self.config = config
        self._timers: dict[str, asyncio.Task[None]] = {}

    async def start(self, services: BotServices) -> None:
        await super().start(services)
        if not self.config.end_at_valid_until:
            return
        for doc in await services.store.list_docs(NAMESPACE):
            call = await services.registry.get(doc["callConnectionId"])
            if call is None or call.ended_at is not None:
                await services.store.delete_doc(NAMESPACE, doc["callConnectionId"])
                continue
            self._schedule(doc["callConnectionId"], datetime.fromisoformat(doc["endAt"]))

    async def stop(self) -> None:
        for task in self._timers.values():
            task.cancel()
        for task in list(self._timers.values()):
            with suppress(asyncio.CancelledError):
                await task
        self._timers.clear()

    async def on_event(self, event: CallEvent, ctx: CallContext) -> None:
        if isinstance(event, CallConnected) and self.config.end_at_valid_until:
            room = await self.services.acs.get_room(ctx.room_id)
            await self.services.store.put_doc(
                NAMESPACE,
                ctx.call_connection_id,
                {"callConnectionId": ctx.call_connection_id, "endAt": room.valid_until.isoformat()},
            )
            self._schedule(ctx.call_connection_id, room.valid_until)
        elif isinstance(event, CallDisconnected):
            timer = self._timers.pop(ctx.call_connection_id, None)
            if timer is not None:
                timer.cancel()
            await self.services.store.delete_doc(NAMESPACE, ctx.call_connection_id)

    async def end_for_everyone(self, call_connection_id: str) -> None:
        """Hang up the call for every participant; CallDisconnected follows."""
        await self.services.acs.terminate(call_connection_id)

    def _schedule(self, call_connection_id: str, end_at: datetime) -> None:
        previous = self._timers.pop(call_connection_id, None)
        if previous is not None:
            previous.cancel()
        self._timers[call_connection_id] = asyncio.create_task(
            self._end_when_due(call_connection_id, end_at), name=f"end_call:{call_connection_id}"
        )

    async def _end_when_due(self, call_connection_id: str, end_at: datetime) -> None:
        delay = (end_at - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        logger.info("room validity ended: ending call %s for everyone", call_connection_id)
        try:
            await self.end_for_everyone(call_connection_id)
        except AcsError:
            logger.exception("could not end call %s at the end of its room's validity", call_connection_id)
        finally:
            self._timers.pop(call_connection_id, None)
