"""The media engine: plays, recognizes, DTMF in and out, for every room call.

Rules, as ACS applies them (Call Automation REST API 2026-03-12 and the "Play action" and
"Gather user input" how-tos):
- A play or recognize whose audience overlaps one still running in the same call answers
  400/8500 at once. A play to everyone overlaps everything; a recognize's audience is its target
  participant. ``interruptCallMediaOperation`` on a play to everyone cancels the running ones
  instead (they get PlayCanceled / RecognizeCanceled 400/8508); on a play to listed participants
  it is ignored, as the SDK documents.
- ``:cancelAllMediaOperations`` cancels every running play and recognize of the call, whichever
  connection asked for them; each gets its Canceled event at its own callback URI.
- Continuous DTMF recognition is per connection and participant: every key that participant
  presses sends ContinuousDtmfRecognitionToneReceived with the start request's operationContext
  and a ``sequenceId`` counting from 1.
- Key presses (the control API's ``:dtmf``, simulated phones) reach the participant's running
  recognize and every continuous recognition of them.

Choices made where ACS's documentation is silent (the real service wins if it differs):
- ``interruptCallMediaOperation`` on a recognize cancels the running operations that overlap
  its target instead of answering 8500.
- Sending DTMF neither collides with plays nor is canceled by ``:cancelAllMediaOperations``; its
  target must be a phone participant (``4:...``), as only PSTN legs carry tones.
- ToneReceived has no field naming the participant (the SDK's model has none): the start
  request's operationContext is how an app tells participants apart.
- Stopping continuous recognition that is not running still answers 200 and sends
  ContinuousDtmfRecognitionStopped: stopping is idempotent.
- An operation whose every addressee left ends with its Canceled event (400/8508); one whose
  connection hung up, or whose call ended, ends silently (nothing follows CallDisconnected).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.calls.media.ops import (
    CALL_ENDED,
    CANCELED,
    COMPLETED,
    PARTICIPANT_LEFT,
    Operation,
    PlayOperation,
    SendDtmfOperation,
    event_data,
)
from emulator.calls.media.recognize import RecognizeOperation
from emulator.calls.media.requests import (
    PHONE_PREFIX,
    ContinuousDtmfRequest,
    PlayRequest,
    RecognizeRequest,
    SendDtmfRequest,
)
from emulator.calls.media.sources import SourcePlayer
from emulator.calls.media.tones import ToneError, parse_keys
from emulator.calls.model import CallConnection, RoomCall
from emulator.calls.service import CallService
from emulator.clock import Clock
from emulator.protocol.errors import AcsError, invalid


@dataclass
class ContinuousDtmf:
    connection: CallConnection
    target: str
    operation_context: str | None
    callback_uri: str | None
    sequence_id: int = 0


class MediaEngine:
    def __init__(self, service: CallService, clock: Clock) -> None:
        self.service = service
        self.clock = clock
        self.player = SourcePlayer()
        # serverCallId -> running operations, in request order.
        self._running: dict[str, list[Operation]] = {}
        # serverCallId -> (callConnectionId, rawId) -> continuous recognition.
        self._continuous: dict[str, dict[tuple[str, str], ContinuousDtmf]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        service.listeners.append(self)

    # Call Automation requests.

    def play(self, connection: CallConnection, call: RoomCall, request: PlayRequest) -> None:
        self._require_in_call(call, request.play_to, "playTo")
        everyone = not request.play_to
        self._make_room(call, frozenset(request.play_to) or None, interrupt=request.interrupt and everyone)
        self._start(PlayOperation(self, call, connection, request))

    def recognize(self, connection: CallConnection, call: RoomCall, request: RecognizeRequest) -> None:
        self._require_in_call(call, [request.target], "recognizeOptions.targetParticipant")
        self._make_room(call, frozenset([request.target]), interrupt=request.interrupt)
        self._start(RecognizeOperation(self, call, connection, request))

    def send_dtmf(self, connection: CallConnection, call: RoomCall, request: SendDtmfRequest) -> None:
        self._require_in_call(call, [request.target], "targetParticipant")
        if not request.target.startswith(PHONE_PREFIX):
            raise invalid("DTMF tones can be sent to phone participants only.", target="targetParticipant")
        self._start(SendDtmfOperation(self, call, connection, request))

    def cancel_all(self, call: RoomCall) -> None:
        for operation in self.running(call):
            if operation.interruptible:
                operation.cancel(CANCELED)

    def start_continuous(
        self, connection: CallConnection, call: RoomCall, request: ContinuousDtmfRequest
    ) -> None:
        self._require_in_call(call, [request.target], "targetParticipant")
        key = (connection.id, request.target)
        subscriptions = self._continuous.setdefault(call.server_call_id, {})
        current = subscriptions.get(key)
        if current is None:
            subscriptions[key] = ContinuousDtmf(
                connection, request.target, request.operation_context, request.callback_uri
            )
        else:
            current.operation_context = request.operation_context
            current.callback_uri = request.callback_uri

    def stop_continuous(
        self, connection: CallConnection, call: RoomCall, request: ContinuousDtmfRequest
    ) -> None:
        self._require_in_call(call, [request.target], "targetParticipant")
        self._continuous.get(call.server_call_id, {}).pop((connection.id, request.target), None)
        data = event_data(connection, request.operation_context, COMPLETED)
        self.send(connection, "ContinuousDtmfRecognitionStopped", data, request.callback_uri)

    # Key presses, from the control API and simulated phones.

    def press_keys(self, call: RoomCall, raw_id: str, keys: str | Sequence[str]) -> list[str]:
        """``raw_id`` presses ``keys`` ("1#", or tone words) in ``call``; returns the tone words.

        Raises AcsError 409 when ``raw_id`` is not in the call and 400 for keys DTMF has not.
        """
        if raw_id not in call.participants:
            raise AcsError(409, "Conflict", f"{raw_id} is not in the call of room {call.room_id}.")
        try:
            tones = parse_keys(keys)
        except ToneError as exc:
            raise AcsError(400, "BadRequest", str(exc), target="tones") from None
        subscriptions = [
            s for s in self._continuous.get(call.server_call_id, {}).values() if s.target == raw_id
        ]
        for tone in tones:
            for operation in self.running(call):
                if isinstance(operation, RecognizeOperation) and operation.target == raw_id:
                    operation.press(tone)
            for subscription in subscriptions:
                subscription.sequence_id += 1
                extra = {"tone": tone, "sequenceId": subscription.sequence_id}
                data = event_data(subscription.connection, subscription.operation_context, COMPLETED, extra)
                self.send(
                    subscription.connection,
                    "ContinuousDtmfRecognitionToneReceived",
                    data,
                    subscription.callback_uri,
                )
        return tones

    def running(self, call: RoomCall) -> list[Operation]:
        return list(self._running.get(call.server_call_id, []))

    # The call service's listener.

    def participant_left(self, call: RoomCall, raw_id: str) -> None:
        for operation in self.running(call):
            if operation.audience is not None and raw_id in operation.audience:
                operation.audience = operation.audience - {raw_id}
                if not operation.audience:
                    operation.cancel(PARTICIPANT_LEFT)
        subscriptions = self._continuous.get(call.server_call_id, {})
        for key in [k for k in subscriptions if k[1] == raw_id]:
            del subscriptions[key]

    def connection_closed(self, call: RoomCall, connection: CallConnection) -> None:
        for operation in self.running(call):
            if operation.connection is connection:
                operation.cancel(CANCELED, notify=False)
        subscriptions = self._continuous.get(call.server_call_id, {})
        for key in [k for k in subscriptions if k[0] == connection.id]:
            del subscriptions[key]

    def call_ended(self, call: RoomCall) -> None:
        for operation in self.running(call):
            operation.cancel(CALL_ENDED, notify=False)
        self._running.pop(call.server_call_id, None)
        self._continuous.pop(call.server_call_id, None)

    # What operations need (ops.OperationHost).

    def send(
        self, connection: CallConnection, name: str, data: dict[str, Any], callback_uri: str | None
    ) -> None:
        self.service.notify(connection, name, data, callback_uri=callback_uri)

    def ended(self, operation: Operation) -> None:
        running = self._running.get(operation.call.server_call_id, [])
        if operation in running:
            running.remove(operation)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait until every task started so far (operations, hold music checks) has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, operation: Operation) -> None:
        operation.call.media.append(operation.entry)
        self._running.setdefault(operation.call.server_call_id, []).append(operation)
        operation.start()

    def _require_in_call(self, call: RoomCall, raw_ids: Sequence[str], target: str) -> None:
        for raw_id in raw_ids:
            if raw_id not in call.participants:
                raise invalid(f"{raw_id} is not a participant of this call.", target=target)

    def _make_room(self, call: RoomCall, audience: frozenset[str] | None, *, interrupt: bool) -> None:
        """Clear the way for an operation heard by ``audience`` (None: everyone), or answer 8500."""
        active = [op for op in self.running(call) if op.interruptible and op.overlaps(audience)]
        if active and not interrupt:
            who = "everyone" if audience is None else ", ".join(sorted(audience))
            raise AcsError(
                400,
                "8500",
                f"Action failed, another media operation ({active[0].kind}) is active for {who}.",
            )
        for operation in active:
            operation.cancel(CANCELED)
