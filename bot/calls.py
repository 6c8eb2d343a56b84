"""Joining and ending room calls: the commands behind the connect, Event Grid and ops routes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.messages import EndForEveryone
from bot.services import BotServices
from bot.state.base import CallRecord

logger = logging.getLogger(__name__)

CONNECT_CONTEXT = "roombot:connect"


@dataclass(frozen=True)
class ConnectResult:
    call: CallRecord
    created: bool


class CallCommands:
    """Connect and end calls; one lock per room so concurrent triggers join a room once."""

    def __init__(self, services: BotServices) -> None:
        self._services = services
        self._room_locks: dict[str, asyncio.Lock] = {}

    async def connect(self, room_id: str) -> ConnectResult:
        """Connect the bot to the room's call, or answer the connection it already has."""
        lock = self._room_locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            existing = await self._services.registry.live_call_for_room(room_id)
            if existing is not None:
                return ConnectResult(existing, created=False)
            info = await self._services.acs.connect_room(
                room_id, self._services.callback_url(), operation_context=CONNECT_CONTEXT
            )
            record = await self._services.registry.register_connecting(
                room_id, info.call_connection_id, info.server_call_id, info.correlation_id
            )
            logger.info("connecting to room %s as call %s", room_id, info.call_connection_id)
            return ConnectResult(record, created=True)

    async def end_for_everyone(self, command: EndForEveryone) -> None:
        call = await self._services.registry.get(command.call_connection_id)
        if call is not None and call.ended_at is None:
            await self.end(call)

    async def end(self, call: CallRecord) -> None:
        """End the call for everyone; the registry drops it on CallDisconnected."""
        await self._services.acs.terminate(call.call_connection_id)
        logger.info("ending call %s of room %s for everyone", call.call_connection_id, call.room_id)
