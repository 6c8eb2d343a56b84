"""`POST /api/rooms/{roomId}/connect` behind the route: connect, learn how it went, and, when asked,
keep trying until the room's call starts.

Call Automation connects to a call that is already running. Connecting to a room nobody has
joined yet is accepted (200, state ``connecting``) and then fails asynchronously with
ConnectFailed, 404/8522 (Microsoft Learn, "Call Automation overview": connect joins an existing
call; the emulator documents the same in ``emulator/calls/service.py``). So the route waits for
that outcome, briefly, to answer plainly: connected, or no call running (409). With
``waitForCallSeconds`` a backend can trigger at the appointment time, before anyone is in the
room: the bot answers 202 ``waiting`` at once and connects again, with growing pauses, until the
call starts or the time is up; the outcome is posted to ``NOTIFY_URL`` (``connect.connected`` or
``connect.gaveUp``). The waits live in this process: a restart ends them (repeat the POST).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.calls import CallCommands
from bot.logs import log_context
from bot.notify import Notifier
from bot.registry import CallRegistry
from bot.state.base import CallRecord, CallState
from bot.stopping import cancel_and_wait

logger = logging.getLogger(f"roombot.{__name__}")

# ACS answers a connect with CallConnected or ConnectFailed within about a second; past this the
# route answers 202 `connecting` (the callbacks may not be reaching the bot: see Troubleshooting).
OUTCOME_SECONDS = 10.0
OUTCOME_POLL_SECONDS = 0.05
# ACS's ConnectFailed result when the call does not exist (yet): the generic "not found".
NOT_FOUND = (404, 8522)
# Pauses between connects while waiting for a room's call: 1 s, doubling, at most 15 s, so a
# call that starts is joined within seconds without a connect a second for an hour.
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 15.0
MAX_WAIT_FOR_CALL_SECONDS = 3600


@dataclass(frozen=True)
class Failure:
    """ACS's result information of a ConnectFailed."""

    code: int | None
    sub_code: int | None
    message: str | None

    @property
    def no_call(self) -> bool:
        return (self.code, self.sub_code) == NOT_FOUND

    def __str__(self) -> str:
        return f"ConnectFailed {self.code}/{self.sub_code}: {self.message or 'no message'}"


class ConnectFailedError(Exception):
    """ACS failed the connect (call connection ``call_connection_id``) with ``failure``."""

    def __init__(self, message: str, call: CallRecord, failure: Failure) -> None:
        super().__init__(message)
        self.call = call
        self.failure = failure


class NoCallRunning(ConnectFailedError):
    """Nobody has joined the room yet, so it has no call to connect to."""

    def __init__(self, call: CallRecord, failure: Failure) -> None:
        super().__init__(
            f"no call is running in room {call.room_id}: nobody has joined it yet ({failure})", call, failure
        )


class ConnectRefused(ConnectFailedError):
    """ACS failed the connect for another reason than a missing call."""

    def __init__(self, call: CallRecord, failure: Failure) -> None:
        super().__init__(
            f"ACS could not connect to the call of room {call.room_id} ({failure})", call, failure
        )


@dataclass(frozen=True)
class Connection:
    """What the route answers: the bot's call (``created`` by this request or already there), or
    the time until which the bot keeps trying (``waiting_until``)."""

    room_id: str
    call: CallRecord | None = None
    created: bool = False
    waiting_until: datetime | None = None


class RoomConnector:
    """Owns the background waits for room calls; :meth:`close` ends them."""

    def __init__(
        self,
        commands: CallCommands,
        registry: CallRegistry,
        notifier: Notifier,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._commands = commands
        self._registry = registry
        self._notifier = notifier
        self._clock = clock
        self._sleep = sleep
        self._waits: dict[str, tuple[datetime, asyncio.Task[None]]] = {}

    async def connect(self, room_id: str, *, wait_for_call_seconds: int = 0) -> Connection:
        """Connect the bot to the room's call and report how it went.

        Raises NoCallRunning (nobody has joined and no wait was asked for), ConnectRefused, or
        what the facade raises (AcsError)."""
        waiting = self._waits.get(room_id)
        if waiting is not None:
            return Connection(room_id, waiting_until=waiting[0])
        result = await self._commands.connect(room_id)
        if not result.created:
            return Connection(room_id, result.call)
        call, failure = await self.outcome(result.call)
        if failure is None:
            return Connection(room_id, call, created=True)
        if not failure.no_call:
            logger.warning("connect to room %s failed: %s", room_id, failure)
            raise ConnectRefused(call, failure)
        if wait_for_call_seconds <= 0:
            logger.warning(
                "no call is running in room %s: nobody has joined it yet (%s); connect once someone "
                "has joined, or pass waitForCallSeconds",
                room_id,
                failure,
            )
            raise NoCallRunning(call, failure)
        until = self._clock() + timedelta(seconds=wait_for_call_seconds)
        task = asyncio.create_task(self._wait_for_call(room_id, until), name=f"connect:wait:{room_id}")
        self._waits[room_id] = (until, task)
        task.add_done_callback(lambda _: self._waits.pop(room_id, None))
        logger.info(
            "no call is running in room %s yet: connecting again until %s", room_id, until.isoformat()
        )
        return Connection(room_id, waiting_until=until)

    async def outcome(self, call: CallRecord) -> tuple[CallRecord, Failure | None]:
        """The call once ACS said how its connect went (CallConnected or ConnectFailed), or as
        it is after ``OUTCOME_SECONDS`` without word."""
        latest: CallRecord | None = call
        try:
            async with asyncio.timeout(OUTCOME_SECONDS):
                while latest is not None and latest.state is CallState.CONNECTING:
                    await self._sleep(OUTCOME_POLL_SECONDS)
                    latest = await self._registry.get(call.call_connection_id)
        except TimeoutError:
            logger.warning(
                "call %s of room %s: no CallConnected or ConnectFailed within %.0f s; check that ACS "
                "reaches the callback URL",
                call.call_connection_id,
                call.room_id,
                OUTCOME_SECONDS,
            )
        latest = latest or call
        if latest.state is not CallState.FAILED:
            return latest, None
        return latest, await self._failure(latest)

    async def _failure(self, call: CallRecord) -> Failure:
        for entry in reversed(await self._registry.history(call.call_connection_id)):
            if entry.get("type") == "ConnectFailed":
                return Failure(
                    entry.get("resultCode"), entry.get("resultSubCode"), entry.get("resultMessage")
                )
        return Failure(None, None, None)

    async def _wait_for_call(self, room_id: str, until: datetime) -> None:
        with log_context(room_id=room_id):
            pause = FIRST_RETRY_SECONDS
            attempts = 1
            while (left := (until - self._clock()).total_seconds()) > 0:
                await self._sleep(min(pause, left))
                pause = min(pause * 2, MAX_RETRY_SECONDS)
                attempts += 1
                try:
                    result = await self._commands.connect(room_id)
                    call, failure = await self.outcome(result.call)
                except Exception:
                    logger.exception("connect %d to room %s failed", attempts, room_id)
                    continue
                if failure is None:
                    logger.info(
                        "the call of room %s started: connected as %s", room_id, call.call_connection_id
                    )
                    await self._notifier.notify(
                        "connect.connected",
                        roomId=room_id,
                        callConnectionId=call.call_connection_id,
                        attempts=attempts,
                    )
                    return
                if not failure.no_call:
                    logger.warning("connect to room %s failed, no more tries: %s", room_id, failure)
                    await self._notifier.notify("connect.gaveUp", roomId=room_id, reason=str(failure))
                    return
            logger.warning(
                "no call started in room %s before %s: gave up waiting", room_id, until.isoformat()
            )
            await self._notifier.notify(
                "connect.gaveUp", roomId=room_id, reason="no call started in time", attempts=attempts
            )

    async def close(self) -> None:
        await cancel_and_wait([task for _, task in self._waits.values()])
