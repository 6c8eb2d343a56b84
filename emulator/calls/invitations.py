"""Invitations: what ``participants:add`` starts. A phone (or an ACS user) rings, then joins the
call or the invitation fails; ``:cancelAddParticipant`` stops one that still rings.

States: ``ringing`` → ``answered`` | ``failed`` | ``cancelled``, each ending once. Events go to the
connection that asked (or to the add's ``operationCallbackUri``); ParticipantsUpdated goes to every
connection, and Event Grid hears nothing of phones (ACS reports VoIP users only).

- accept: the phone joins as a ``phoneNumber`` participant with no role → AddParticipantSucceeded
  then ParticipantsUpdated; its scripted key presses follow. An ACS user (always answering after
  one simulated second) joins with its roster role, as a join through the control API would.
- busy / decline / no answer by the invitation timeout → AddParticipantFailed with the code and
  subcode ACS documents for PSTN call ends (``ParticipantEndReason``/``SubCode``: 486/560486,
  603/560603, 408/560408) plus the SIP response and Q.850 cause a carrier signals for each.

Assumptions where ACS documents nothing (the real service wins if it differs):
- The default invitation timeout is 60 seconds (ACS documents only the 1..180 range).
- Cancel while ringing → CancelAddParticipantSucceeded (with the cancel's operationContext) and
  nothing more: the "Cancel an add participant request" how-to names no other event, and the
  recorded live test (``Azure/azure-sdk-assets``, JS ``Add a participant cancels add participant
  request``) receives only CancelAddParticipantSucceeded. The invitation ends ``cancelled`` with
  487/540487 "request terminated" (the code ACS lists for a call request the caller ended), which
  the control API shows.
- Cancel after the answer or the failure → CancelAddParticipantFailed 400/8523; an invitation id
  this connection never issued → CancelAddParticipantFailed 404/8522. Only the last
  ``KEEP_FINISHED`` finished invitations are remembered: cancelling an older one is 404/8522 too.
- Two invitations may ring one number at once (call waiting): the emulator never merges them, so
  double dialling shows. Adding a number already in the call is refused (409, see the routes);
  one that joined while another invitation rang answers that one busy.
- When the call ends or the asking connection hangs up while a phone rings, the invitation fails
  with no event: nothing follows CallDisconnected.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from emulator.calls import events, wire
from emulator.calls.events import Result
from emulator.calls.invitation_results import (
    ANSWERED,
    BUSY,
    CALL_GONE,
    CANCEL_DONE,
    CANCEL_TOO_LATE,
    CANCEL_UNKNOWN,
    CANCELLED,
    COULD_NOT_JOIN,
    DECLINED,
    NO_ANSWER,
)
from emulator.calls.model import CallConnection, CallParticipant, RoomCall
from emulator.calls.service import CallService
from emulator.clock import Clock
from emulator.phones import KeyPresses, PhoneBehaviour
from emulator.rooms.model import RoomStore

log = logging.getLogger(f"roombot.{__name__}")

InvitationState = Literal["ringing", "answered", "failed", "cancelled"]
DEFAULT_TIMEOUT_SECONDS = 60
MAX_TIMEOUT_SECONDS = 180
# How long an invited ACS user takes to pick up; users have no scripted behaviour.
USER_ANSWER_SECONDS = 1.0
# Finished invitations kept for the control API; older ones are forgotten so that a
# long-running emulator does not grow forever (ringing ones are always kept).
KEEP_FINISHED = 1000


# Presses DTMF keys (tone words) as ``raw_id`` in ``call``: the media engine's key-press method.
KeyPad = Callable[[RoomCall, str, list[str]], object]


@dataclass
class Invitation:
    id: str
    connection_id: str
    room_id: str
    server_call_id: str
    raw_id: str
    operation_context: str | None
    # The add's own operationCallbackUri, if it named one.
    callback_uri: str | None
    timeout_seconds: float
    created_at: datetime
    source_caller_id: str | None = None
    state: InvitationState = "ringing"
    ended_at: datetime | None = None
    result: Result | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "invitationId": self.id,
            "callConnectionId": self.connection_id,
            "roomId": self.room_id,
            "serverCallId": self.server_call_id,
            "participant": wire.identifier(self.raw_id),
            "sourceCallerIdNumber": self.source_caller_id,
            "operationContext": self.operation_context,
            "invitationTimeoutInSeconds": self.timeout_seconds,
            "state": self.state,
            "createdAt": self.created_at.isoformat(),
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
            "resultInformation": self.result.wire() if self.result else None,
        }


def operation_data(
    connection: CallConnection, result: Result, operation_context: str | None
) -> dict[str, Any]:
    """Event data of an operation: it carries that operation's context, not the connection's."""
    data = events.connection_data(connection, result)
    data.pop("operationContext", None)
    if operation_context is not None:
        data["operationContext"] = operation_context
    return data


class Ringer:
    """Every invitation of the emulator, and the tasks that ring them."""

    def __init__(
        self,
        *,
        calls: CallService,
        rooms: RoomStore,
        clock: Clock,
        phones: Callable[[str], PhoneBehaviour],
        keypad: Callable[[], KeyPad | None],
    ) -> None:
        self._calls = calls
        self._rooms = rooms
        self._clock = clock
        self._phones = phones
        self._keypad = keypad
        self._invitations: dict[str, Invitation] = {}
        # Ids of finished invitations, oldest first.
        self._finished: deque[str] = deque()
        self.keep_finished = KEEP_FINISHED
        self._tasks: set[asyncio.Task[None]] = set()

    def invitations(self) -> list[Invitation]:
        return list(self._invitations.values())

    def invite(
        self,
        connection: CallConnection,
        call: RoomCall,
        raw_id: str,
        *,
        operation_context: str | None,
        callback_uri: str | None,
        timeout_seconds: float,
        source_caller_id: str | None,
    ) -> Invitation:
        invitation = Invitation(
            id=str(uuid.uuid4()),
            connection_id=connection.id,
            room_id=call.room_id,
            server_call_id=call.server_call_id,
            raw_id=raw_id,
            operation_context=operation_context,
            callback_uri=callback_uri,
            timeout_seconds=timeout_seconds,
            created_at=self._clock.now(),
            source_caller_id=source_caller_id,
        )
        self._invitations[invitation.id] = invitation
        self._spawn(self._ring(invitation))
        return invitation

    def cancel(
        self,
        connection: CallConnection,
        invitation_id: str,
        *,
        operation_context: str | None,
        callback_uri: str | None,
    ) -> None:
        """Stop a ringing invitation; the outcome comes as CancelAddParticipantSucceeded/Failed."""
        invitation = self._invitations.get(invitation_id)
        if invitation is None or invitation.connection_id != connection.id:
            outcome, name = CANCEL_UNKNOWN, "CancelAddParticipantFailed"
        elif invitation.state != "ringing":
            outcome, name = CANCEL_TOO_LATE, "CancelAddParticipantFailed"
        else:
            outcome, name = CANCEL_DONE, "CancelAddParticipantSucceeded"
        data = operation_data(connection, outcome, operation_context)
        data["invitationId"] = invitation_id
        self._calls.notify(connection, name, data, callback_uri=callback_uri)
        if invitation is not None and outcome is CANCEL_DONE:
            self._end(invitation, CANCELLED, "cancelled")

    # Call listener: invitations of a call that ends, or of a connection that hangs up, stop.

    def participant_left(self, call: RoomCall, raw_id: str) -> None:
        del call, raw_id

    def connection_closed(self, call: RoomCall, connection: CallConnection) -> None:
        for invitation in self._ringing(lambda i: i.connection_id == connection.id):
            self._end(invitation, CALL_GONE, "failed")

    def call_ended(self, call: RoomCall) -> None:
        for invitation in self._ringing(lambda i: i.server_call_id == call.server_call_id):
            self._end(invitation, CALL_GONE, "failed")

    async def drain(self) -> None:
        """Wait until every invitation has rung out and every scripted key was pressed."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _ringing(self, matches: Callable[[Invitation], bool]) -> list[Invitation]:
        return [i for i in self._invitations.values() if i.state == "ringing" and matches(i)]

    def _behaviour(self, raw_id: str) -> PhoneBehaviour:
        if wire.identifier_kind(raw_id) == "phoneNumber":
            return self._phones(raw_id.removeprefix(wire.PHONE_PREFIX))
        return PhoneBehaviour(answer="accept", answer_after_seconds=USER_ANSWER_SECONDS)

    async def _ring(self, invitation: Invitation) -> None:
        behaviour = self._behaviour(invitation.raw_id)
        in_time = (
            behaviour.answer != "noAnswer" and behaviour.answer_after_seconds < invitation.timeout_seconds
        )
        await self._clock.sleep(behaviour.answer_after_seconds if in_time else invitation.timeout_seconds)
        if invitation.state != "ringing":
            return
        if not in_time:
            self._fail(invitation, NO_ANSWER)
        elif behaviour.answer == "busy":
            self._fail(invitation, BUSY)
        elif behaviour.answer == "decline":
            self._fail(invitation, DECLINED)
        else:
            self._answer(invitation, behaviour.dtmf)

    def _answer(self, invitation: Invitation, script: tuple[KeyPresses, ...]) -> None:
        connection = self._calls.registry.connection(invitation.connection_id)
        call = self._calls.registry.call_by_server_id(invitation.server_call_id)
        if connection is None or connection.state == "disconnected" or call is None:
            self._end(invitation, CALL_GONE, "failed")
            return
        phone = wire.identifier_kind(invitation.raw_id) == "phoneNumber"
        if invitation.raw_id in call.participants and phone:
            self._fail(invitation, BUSY)
            return
        if not phone and not self._may_join(call, invitation.raw_id):
            self._fail(invitation, COULD_NOT_JOIN)
            return
        self._end(invitation, ANSWERED, "answered")
        data = operation_data(connection, ANSWERED, invitation.operation_context)
        data["participant"] = wire.identifier(invitation.raw_id)
        self._calls.notify(connection, "AddParticipantSucceeded", data, callback_uri=invitation.callback_uri)
        if phone:
            participant = CallParticipant(invitation.raw_id, None, "", self._clock.now())
            call.participants[invitation.raw_id] = participant
            self._calls.participants_changed(call)
            if script:
                self._spawn(self._press_keys(call, participant, script))
        elif invitation.raw_id not in call.participants:
            self._calls.join(call.room_id, invitation.raw_id)

    def _may_join(self, call: RoomCall, raw_id: str) -> bool:
        room = self._rooms.get(call.room_id)
        return room is not None and room.role_of(raw_id) is not None and room.is_open_at(self._clock.now())

    def _fail(self, invitation: Invitation, result: Result) -> None:
        self._end(invitation, result, "failed")
        connection = self._calls.registry.connection(invitation.connection_id)
        if connection is None:
            return
        data = operation_data(connection, result, invitation.operation_context)
        data["participant"] = wire.identifier(invitation.raw_id)
        self._calls.notify(connection, "AddParticipantFailed", data, callback_uri=invitation.callback_uri)

    def _end(self, invitation: Invitation, result: Result, state: InvitationState) -> None:
        if invitation.state == "ringing":
            self._finished.append(invitation.id)
            while len(self._finished) > self.keep_finished:
                self._invitations.pop(self._finished.popleft(), None)
        invitation.state = state
        invitation.result = result
        invitation.ended_at = self._clock.now()

    async def _press_keys(
        self, call: RoomCall, participant: CallParticipant, script: tuple[KeyPresses, ...]
    ) -> None:
        elapsed = 0.0
        for step in sorted(script, key=lambda s: s.after_seconds):
            await self._clock.sleep(step.after_seconds - elapsed)
            elapsed = step.after_seconds
            # The phone may have hung up, or been removed, while its script waited.
            if call.state != "connected" or call.participants.get(participant.raw_id) is not participant:
                return
            keypad = self._keypad()
            if keypad is None:
                log.warning("%s pressed %s, but no media engine listens", participant.raw_id, step.tones)
                return
            keypad(call, participant.raw_id, list(step.tones))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
