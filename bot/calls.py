"""Joining and ending room calls: the commands behind the connect, Event Grid and ops routes."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.acs import AcsError, AcsFacade, AcsNotFound, AcsUnavailable
from bot.events import CallDisconnected, CallEvent, ResultInformation
from bot.locks import KeyedLocks
from bot.logs import log_context
from bot.messages import EndForEveryone
from bot.services import BotServices
from bot.state.base import CallRecord

logger = logging.getLogger(f"roombot.{__name__}")

CONNECT_CONTEXT = "roombot:connect"
# Reasons of the CallDisconnected the bot makes up for a call that ended without one reaching it.
GONE_WHILE_DOWN = "GoneWhileDown"
CALL_ENDED = "CallEnded"
GONE_MESSAGES = {
    GONE_WHILE_DOWN: "The call ended while the bot was down: ACS no longer knows it.",
    CALL_ENDED: "Event Grid reported the call ended and ACS no longer knows it.",
}

Submit = Callable[[Iterable[CallEvent]], None]
# A replica connecting a room holds the room's connect lease this long at most; others wait for
# its call instead of connecting a second time.
CONNECT_LEASE_SECONDS = 30.0
CONNECT_POLL_SECONDS = 0.05
# The history entry of an end for everyone that ACS accepted (the CallDisconnected follows).
END_REQUESTED = "EndForEveryoneRequested"
END_FAILED = "EndForEveryoneFailed"


@dataclass(frozen=True)
class ConnectResult:
    call: CallRecord
    created: bool


def gone_event(call: CallRecord, reason: str) -> CallDisconnected:
    """The CallDisconnected standing in for one that never came, so handlers clean up as usual.

    Its id names the reason and the call: one per call, so a repeated CallEnded is a duplicate."""
    return CallDisconnected(
        id=f"roombot:{reason}:{call.call_connection_id}",
        source=f"calling/callConnections/{call.call_connection_id}",
        time=datetime.now(UTC),
        call_connection_id=call.call_connection_id,
        server_call_id=call.server_call_id,
        correlation_id=call.correlation_id,
        operation_context=None,
        result=ResultInformation(message=GONE_MESSAGES.get(reason, reason)),
    )


class CallCommands:
    """Connect and end calls. Concurrent triggers join a room once: one lock per room in this
    process, and a lease per room in the state store across the bot's replicas.

    ``submit`` is the dispatcher's: events the bot must process (early ones, made-up
    CallDisconnecteds) go through it like the ones ACS posts."""

    def __init__(self, services: BotServices, submit: Submit) -> None:
        self._services = services
        self._submit = submit
        self._room_locks = KeyedLocks()
        # The CallEnded checks under way, by room: a second one for the room shares the first.
        self._ending: dict[str, asyncio.Task[list[str]]] = {}

    async def connect(self, room_id: str) -> ConnectResult:
        """Connect the bot to the room's call, or answer the connection it already has."""
        store, replica = self._services.store, self._services.replica_id
        lease = f"connect:{room_id}"
        async with self._room_locks[room_id]:
            deadline = time.monotonic() + CONNECT_LEASE_SECONDS
            while True:
                existing = await self._services.registry.live_call_for_room(room_id)
                if existing is not None:
                    return ConnectResult(existing, created=False)
                if await store.acquire_lease(lease, replica, CONNECT_LEASE_SECONDS):
                    break
                if time.monotonic() > deadline:
                    raise AcsUnavailable(f"another replica has been connecting room {room_id} for too long")
                # Another replica is connecting: its call, once registered, is the room's.
                await asyncio.sleep(CONNECT_POLL_SECONDS)
            try:
                # It may have registered its call between our look and our lease.
                existing = await self._services.registry.live_call_for_room(room_id)
                if existing is not None:
                    return ConnectResult(existing, created=False)
                return await self._connect(room_id)
            finally:
                await store.release_lease(lease, replica)

    async def _connect(self, room_id: str) -> ConnectResult:
        info = await self._services.acs.connect_room(
            room_id, self._services.callback_url(), operation_context=CONNECT_CONTEXT
        )
        record, early = await self._services.registry.register_connecting(
            room_id, info.call_connection_id, info.server_call_id, info.correlation_id
        )
        # Events ACS delivered before its answer to connect: handlers must see them too.
        self._submit(early)
        with log_context(call_connection_id=info.call_connection_id, room_id=room_id):
            logger.info("connecting to room %s as call %s", room_id, info.call_connection_id)
        return ConnectResult(record, created=True)

    async def end_for_everyone(self, command: EndForEveryone) -> None:
        call = await self._services.registry.get(command.call_connection_id)
        if call is not None and call.ended_at is None:
            await self.end(call, requested_by="handler")

    async def reconcile(self) -> list[str]:
        """Finish the stored live calls that ACS no longer knows (ended while the bot was down).

        Returns their call connection ids. A call ACS cannot be asked about now stays listed."""
        gone = []
        for call in await self._services.registry.live_calls():
            if await self._finish_if_gone(call, GONE_WHILE_DOWN):
                gone.append(call.call_connection_id)
                logger.info("call %s ended while the bot was down", call.call_connection_id)
        return gone

    async def call_ended(self, room_id: str, server_call_id: str | None) -> list[str]:
        """Event Grid's CallEnded for a room: finish the calls it names that ACS no longer knows.

        Event Grid's webhook only has a key in its URL to prove who sent it, so a CallEnded alone
        never drops a call that ACS says is still running. Returns the finished call ids. One check
        per room at a time: a CallEnded for a room already being checked waits for that check."""
        running = self._ending.get(room_id)
        if running is None:
            running = asyncio.create_task(self._check_ended(room_id, server_call_id), name=f"ended:{room_id}")
            self._ending[room_id] = running
            running.add_done_callback(lambda _: self._ending.pop(room_id, None))
        return await asyncio.shield(running)

    async def _check_ended(self, room_id: str, server_call_id: str | None) -> list[str]:
        calls = await self._services.registry.live_calls_ended_by(room_id, server_call_id=server_call_id)
        return [call.call_connection_id for call in calls if await self._finish_if_gone(call, CALL_ENDED)]

    async def _finish_if_gone(self, call: CallRecord, reason: str) -> bool:
        try:
            info = await self._services.acs.get_call(call.call_connection_id)
        except AcsNotFound:
            info = None
        except AcsError as exc:
            logger.warning("cannot check call %s with ACS: %s", call.call_connection_id, exc)
            return False
        if info is not None and info.state != "disconnected":
            return False
        event = gone_event(call, reason)
        if await self._services.store.mark_event_seen(event.id):
            self._submit([event])
        return True

    async def end(self, call: CallRecord, *, requested_by: str = "operator") -> None:
        """End the call for everyone; the registry drops it on CallDisconnected.

        The call's history notes the request first (an entry of type `END_REQUESTED`, with an id
        of the bot's own; `END_FAILED` follows when ACS refuses), so that its timeline shows who
        asked before ACS's CallDisconnected, which may arrive before ACS's answer."""
        await self._note(call, END_REQUESTED, requestedBy=requested_by)
        with log_context(call_connection_id=call.call_connection_id, room_id=call.room_id):
            try:
                await self._services.acs.terminate(call.call_connection_id)
            except AcsError as exc:
                await self._note(call, END_FAILED, resultMessage=str(exc))
                raise
            logger.info("ending call %s of room %s for everyone", call.call_connection_id, call.room_id)

    async def _note(self, call: CallRecord, kind: str, **fields: str) -> None:
        entry = {
            "id": f"roombot:{kind}:{uuid.uuid4().hex}",
            "type": kind,
            "time": datetime.now(UTC).isoformat(),
            "operationContext": None,
            **fields,
        }
        await self._services.store.append_event(call.call_connection_id, entry)


async def listed_by_acs(acs: AcsFacade, call_connection_id: str) -> list[str] | None:
    """The raw ids ACS lists in the call now; None when ACS cannot be asked.

    For when the bot's books may be behind (before a request is refused because they do not list
    someone, or when ACS's refusal comes before the event that someone left): ACS promises no
    delivery of callbacks, so a ParticipantsUpdated may be lost or still on its way, and ACS has
    the last word."""
    try:
        return [participant.raw_id for participant in await acs.list_participants(call_connection_id)]
    except AcsError:
        return None
