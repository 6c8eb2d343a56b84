"""Joining and ending room calls: the commands behind the connect, Event Grid and ops routes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.acs import AcsError, AcsNotFound
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

    async def reconcile(self) -> list[str]:
        """Drop the stored live calls that ACS no longer knows (ended while the bot was down).

        Returns their call connection ids. A call ACS cannot be asked about now stays listed."""
        gone = []
        for call in await self._services.registry.live_calls():
            try:
                info = await self._services.acs.get_call(call.call_connection_id)
            except AcsNotFound:
                info = None
            except AcsError as exc:
                logger.warning("cannot check call %s with ACS: %s", call.call_connection_id, exc)
                continue
            still_there = info is not None and info.state != "disconnected"
            if not still_there and await self._services.registry.finish(
                call.call_connection_id, "GoneWhileDown"
            ):
                gone.append(call.call_connection_id)
                logger.info("call %s ended while the bot was down", call.call_connection_id)
        return gone

    async def end(self, call: CallRecord) -> None:
        """End the call for everyone; the registry drops it on CallDisconnected."""
        await self._services.acs.terminate(call.call_connection_id)
        logger.info("ending call %s of room %s for everyone", call.call_connection_id, call.room_id)
