"""Media operations while they run: a play or a send-DTMF here, a recognize in
``recognize``. Each is one task; each keeps its entry of the call's media log up to date
and sends its events to the connection that asked for it (or to the operation's own
``operationCallbackUri``).

Result codes are ACS's (the Call Automation docs' result-code table: PlayCompleted 200/0,
PlayFailed 400/8535 bad file format, 400/8536 download failed). Choices made where ACS's
documentation is silent:
- The sources of a play are fetched before it starts: a source that cannot play ends the play
  with PlayFailed (``failedPlaySourceIndex`` names it) and no PlayStarted.
- Sending tones takes ``SECONDS_PER_TONE`` of simulated time per tone; ACS has no
  SendDtmfTonesCanceled, so a send cut short (its phone left) ends with SendDtmfTonesFailed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any, ClassVar, Literal, Protocol

from emulator.calls.events import Result
from emulator.calls.media.requests import PlayRequest, SendDtmfRequest
from emulator.calls.media.sources import BAD_FILE_FORMAT, PlaySource, SourceError, SourcePlayer
from emulator.calls.model import CallConnection, RoomCall
from emulator.clock import Clock

log = logging.getLogger(f"roombot.{__name__}")

Kind = Literal["play", "recognize", "sendDtmf"]
Status = Literal["running", "completed", "failed", "canceled"]

# Simulated seconds per tone sent: about a 100 ms tone and the gap after it, rounded up.
SECONDS_PER_TONE = 0.25
# A looping play of silent files still takes time per round, so it never spins.
MIN_LOOP_SECONDS = 1.0

# Messages as recorded live (``Azure/azure-sdk-for-python``, ``tests/events/`` of the media tests).
STARTED = Result(200, 0, "Action completed successfully.")
COMPLETED = Result(200, 0, "Action completed successfully.")
CANCELED = Result(400, 8508, "Action failed, the operation was canceled.")
PARTICIPANT_LEFT = Result(400, 8508, "Action failed, the operation was canceled: the participant left.")
CALL_ENDED = Result(400, 8508, "The operation ended with the call.")
UNKNOWN_FAILURE = Result(500, 9999, "Unknown internal server error.")
RECORDED_SOURCE_MESSAGES = {BAD_FILE_FORMAT: "Action failed, file format is invalid."}


class MediaRequest(Protocol):
    """What every media request carries: its operationContext and operationCallbackUri."""

    @property
    def operation_context(self) -> str | None: ...
    @property
    def callback_uri(self) -> str | None: ...


class OperationHost(Protocol):
    """What an operation needs from the media engine."""

    clock: Clock
    player: SourcePlayer

    def send(
        self, connection: CallConnection, name: str, data: dict[str, Any], callback_uri: str | None
    ) -> None: ...
    def ended(self, operation: Operation) -> None: ...
    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]: ...


def event_data(
    connection: CallConnection,
    operation_context: str | None,
    result: Result,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``data`` of a media event, with the operation's own operationContext."""
    data: dict[str, Any] = {
        "callConnectionId": connection.id,
        "correlationId": connection.correlation_id,
        "resultInformation": result.wire(),
    }
    if connection.server_call_id is not None:
        data["serverCallId"] = connection.server_call_id
    if operation_context is not None:
        data["operationContext"] = operation_context
    data.update(extra or {})
    return data


class Operation(ABC):
    kind: ClassVar[Kind]
    # The events that report a failure and a cancel (ACS has no SendDtmfTonesCanceled).
    failed_event: ClassVar[str]
    canceled_event: ClassVar[str]
    # Plays and recognizes are the operations that collide (8500) and that a cancel reaches.
    interruptible: ClassVar[bool] = True

    def __init__(
        self,
        host: OperationHost,
        call: RoomCall,
        connection: CallConnection,
        request: MediaRequest,
        to: list[str],
        *,
        sources: list[PlaySource],
        loop: bool = False,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.host = host
        self.call = call
        self.connection = connection
        # Who hears it (``to`` is empty for everyone); None is everyone. Shrinks as addressees leave.
        self.audience = frozenset(to) or None
        self.sources = sources
        operation_context = request.operation_context
        self.operation_context = operation_context
        self.callback_uri = request.callback_uri
        self.status: Status = "running"
        self.task: asyncio.Task[None] | None = None
        self.entry: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "kind": self.kind,
            "callConnectionId": connection.id,
            "sources": [s.wire for s in sources],
            "to": list(to) or "everyone",
            "status": self.status,
            "resultCode": None,
            "resultSubCode": None,
            "operationContext": operation_context,
            "loop": loop,
            "options": options or {},
            "tones": [],
            "durationSeconds": None,
            "requestedAt": host.clock.now().isoformat(),
            "endedAt": None,
        }

    def overlaps(self, audience: frozenset[str] | None) -> bool:
        return self.audience is None or audience is None or bool(self.audience & audience)

    def start(self) -> None:
        self.task = self.host.spawn(self._guarded())

    @abstractmethod
    async def run(self) -> None:
        """The operation from start to end; it calls ``finish`` unless canceled first."""

    async def _guarded(self) -> None:
        try:
            await self.run()
        except Exception:
            # A bug in the emulator must not leave the operation running forever.
            log.exception("media operation %s failed", self.entry["id"])
            self.finish("failed", self.failed_event, UNKNOWN_FAILURE)

    def finish(
        self,
        status: Status,
        event: str,
        result: Result,
        extra: dict[str, Any] | None = None,
        *,
        notify: bool = True,
    ) -> bool:
        """End the operation once; later calls do nothing and answer False."""
        if self.status != "running":
            return False
        self.status = status
        self.entry.update(
            status=status,
            resultCode=result.code,
            resultSubCode=result.sub_code,
            endedAt=self.host.clock.now().isoformat(),
        )
        self.host.ended(self)
        if notify:
            data = event_data(self.connection, self.operation_context, result, extra)
            self.host.send(self.connection, event, data, self.callback_uri)
        return True

    def cancel(self, result: Result = CANCELED, *, notify: bool = True) -> None:
        ended = self.finish("canceled", self.canceled_event, result, notify=notify)
        if ended and self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()

    def bad_source(self, error: SourceError) -> Result:
        """The result that ends this operation when one of its sources cannot play: in ACS's
        words where they are on record (a bad file format: "Action failed, file format is
        invalid."), the emulator's own reason logged beside it."""
        message = RECORDED_SOURCE_MESSAGES.get(error.sub_code)
        if message is None:
            return Result(400, error.sub_code, error.message)
        log.info("a play source on connection %s cannot play: %s", self.connection.id, error.message)
        return Result(400, error.sub_code, message)

    async def _length(self) -> float | None:
        """How long the sources play one after the other; None when one of them cannot play,
        and then the operation has failed with ``failedPlaySourceIndex`` naming it."""
        total = 0.0
        for index, source in enumerate(self.sources):
            try:
                total += await self.host.player.seconds(source)
            except SourceError as exc:
                self.finish(
                    "failed", self.failed_event, self.bad_source(exc), {"failedPlaySourceIndex": index}
                )
                return None
        self.entry["durationSeconds"] = total
        return total


class PlayOperation(Operation):
    kind = "play"
    failed_event = "PlayFailed"
    canceled_event = "PlayCanceled"

    def __init__(
        self, host: OperationHost, call: RoomCall, connection: CallConnection, request: PlayRequest
    ) -> None:
        super().__init__(
            host,
            call,
            connection,
            request,
            request.play_to,
            sources=request.sources,
            loop=request.loop,
            options={"interruptCallMediaOperation": request.interrupt},
        )
        self.loop = request.loop

    async def run(self) -> None:
        seconds = await self._length()
        if seconds is None:
            return
        self.host.send(
            self.connection,
            "PlayStarted",
            event_data(self.connection, self.operation_context, STARTED),
            self.callback_uri,
        )
        await self.host.clock.sleep(seconds)
        while self.loop:
            await self.host.clock.sleep(max(seconds, MIN_LOOP_SECONDS))
        self.finish("completed", "PlayCompleted", COMPLETED)


class SendDtmfOperation(Operation):
    kind = "sendDtmf"
    failed_event = "SendDtmfTonesFailed"
    canceled_event = "SendDtmfTonesFailed"
    interruptible = False

    def __init__(
        self, host: OperationHost, call: RoomCall, connection: CallConnection, request: SendDtmfRequest
    ) -> None:
        super().__init__(host, call, connection, request, [request.target], sources=[])
        self.entry["tones"] = list(request.tones)
        self.entry["durationSeconds"] = len(request.tones) * SECONDS_PER_TONE

    async def run(self) -> None:
        await self.host.clock.sleep(len(self.entry["tones"]) * SECONDS_PER_TONE)
        self.finish("completed", "SendDtmfTonesCompleted", COMPLETED)
