"""Room calls and the Call Automation connections to them.

Rules, as ACS applies them to rooms:
- Only roster members join, and only while the room is open (``validFrom <= now < validUntil``).
  The first join starts the room's call, the last leave (or a terminate) ends it.
- ``connect`` answers at once with the connection in state ``connecting``; about a second of
  simulated time later the connection gets CallConnected then ParticipantsUpdated, or
  ConnectFailed. Each connection has its own callback URI and its own events.
- While a connection is ``connecting``, every action on it (participants, media, hold, DTMF)
  answers 400/8501 "Action is not allowed when the call is not established", so nothing it
  causes can reach the app before CallConnected. Reading its properties, hanging up and
  terminating work in any state; reading its call's participants works once the call is known.
- Joins and leaves send ParticipantsUpdated, with the call's increasing ``sequenceNumber``, to
  every connected connection. Terminate ends the call: every connection gets CallDisconnected and
  nothing after it. Hanging up (DELETE) disconnects only that connection.

Assumptions where ACS's documentation is silent (the real service wins if it differs):
- A ``roomCallLocator`` naming a room this resource does not have is refused at once with
  404 and code 8522 (ACS's generic "not found"), rather than accepted and failed later. One whose
  room id is malformed is 400 as the Rooms service answers it, e.g. "Invalid room ID length."
  (see ``emulator.rooms.model.room_id_problem``), with the Rooms service's code ``BadRequest``.
- Connecting to an existing room while no call runs in it, to an unknown ``serverCallId``, or to
  a ``groupCallLocator`` (the emulator runs room calls only, so no group call exists) is accepted
  with 200 and then fails asynchronously with ConnectFailed (404/8522): Microsoft documents that
  Call Automation connects to an *existing* call and reports a failure to do so as ConnectFailed.
  The app never starts a room call itself.
- Joining twice is idempotent; the app is not a participant of the call it connects to.
- A room's validity window gates joins only: a call still running when ``validUntil`` passes
  goes on until its last participant leaves or an app terminates it (which is why the bot has
  an ``end_call`` handler). Deleting the room does not end its call either.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any, Protocol

from emulator.calls import events
from emulator.calls.events import Result
from emulator.calls.model import (
    CallConnection,
    CallLocator,
    CallParticipant,
    CallRegistry,
    RoomCall,
    new_connection_id,
    new_server_call_id,
)
from emulator.calls.wire import is_acs_user
from emulator.clock import Clock
from emulator.delivery.callbacks import CallbackDispatcher
from emulator.delivery.eventgrid import EventGridPublisher
from emulator.protocol.errors import AcsError
from emulator.rooms.model import RoomStore
from emulator.rooms.wire import check_room_id

# Simulated time between a connect request and its CallConnected (or ConnectFailed).
CONNECT_SECONDS = 1.0


def call_not_found(target: str, message: str = "Call not found.") -> AcsError:
    """ACS's 404/8522, naming what was not found in ``error.target``: a room id, a server call id."""
    return AcsError(404, "8522", message, target=target)


def connection_not_found() -> AcsError:
    """The 404/8522 of a request about a call connection that does not exist (any more): its
    ``error.target`` is the request's path, ``/calling/callConnections/{id}:terminate`` say
    (recorded live traffic, ``Azure/azure-sdk-assets``, the .NET Call Automation live test
    ``CreateCallToAcsConnectCallAndHangupForEveryoneTest``)."""
    return AcsError(404, "8522", "Call not found.", target_is_path=True)


def not_established() -> AcsError:
    return AcsError(400, "8501", "Action is not allowed when the call is not established.")


class CallListener(Protocol):
    """Told about changes that end work in progress on a call (media operations, say)."""

    def participant_left(self, call: RoomCall, raw_id: str) -> None:
        """``raw_id`` left ``call``, which goes on without them."""

    def connection_closed(self, call: RoomCall, connection: CallConnection) -> None:
        """``connection`` hung up; ``call`` goes on."""

    def call_ended(self, call: RoomCall) -> None:
        """``call`` is ending; called before any CallDisconnected goes out."""


class CallService:
    def __init__(
        self,
        *,
        rooms: RoomStore,
        clock: Clock,
        callbacks: CallbackDispatcher,
        eventgrid: EventGridPublisher,
    ) -> None:
        self.registry = CallRegistry()
        self._rooms = rooms
        self._clock = clock
        self._callbacks = callbacks
        self._eventgrid = eventgrid
        self._tasks: set[asyncio.Task[None]] = set()
        self.listeners: list[CallListener] = []

    # Room members, driven by the control API.

    def join(self, room_id: str, raw_id: str, display_name: str = "") -> RoomCall:
        room = self._rooms.get(room_id)
        if room is None:
            raise AcsError(404, "NotFound", f"Room {room_id} does not exist.")
        role = room.role_of(raw_id)
        if role is None:
            raise AcsError(403, "Forbidden", f"{raw_id} is not on the roster of room {room_id}.")
        now = self._clock.now()
        if not room.is_open_at(now):
            raise AcsError(
                409,
                "Conflict",
                f"Room {room_id} is open from {room.valid_from.isoformat()} until "
                f"{room.valid_until.isoformat()}; it is {now.isoformat()}.",
            )
        call = self.registry.call_for_room(room_id)
        if call is not None and raw_id in call.participants:
            return call
        participant = CallParticipant(raw_id, role, display_name, now)
        if call is None:
            call = RoomCall(new_server_call_id(), room_id, str(uuid.uuid4()), now, started_by=participant)
            self.registry.add_call(call)
            self._publish("CallStarted", events.started_subject(call), events.call_lifecycle_data(call))
        call.participants[raw_id] = participant
        if is_acs_user(raw_id):
            self._publish(
                "CallParticipantAdded",
                events.participant_subject(call, participant),
                events.participant_lifecycle_data(call, participant),
            )
        self.participants_changed(call)
        return call

    def leave(self, room_id: str, raw_id: str) -> None:
        call = self.running_call(room_id)
        if raw_id not in call.participants:
            raise AcsError(404, "NotFound", f"{raw_id} is not in the call of room {room_id}.")
        self.remove_participant(call, raw_id)

    def running_call(self, room_id: str) -> RoomCall:
        """The call running in a room, found even after the room was deleted (its call goes on);
        404 when none runs."""
        call = self.registry.call_for_room(room_id)
        if call is not None:
            return call
        if self._rooms.get(room_id) is None:
            raise AcsError(404, "NotFound", f"Room {room_id} does not exist.")
        raise AcsError(404, "NotFound", f"No call is running in room {room_id}.")

    def remove_participant(self, call: RoomCall, raw_id: str) -> None:
        """Take ``raw_id`` out of ``call``, even when its room was deleted meanwhile (ACS keeps
        the call); the last one out ends the call."""
        participant = call.participants.pop(raw_id)
        if is_acs_user(raw_id):
            self._publish(
                "CallParticipantRemoved",
                events.participant_subject(call, participant),
                events.participant_lifecycle_data(call, participant),
            )
        if call.participants:
            for listener in self.listeners:
                listener.participant_left(call, raw_id)
            self.participants_changed(call)
        else:
            self._end(call, events.LAST_PARTICIPANT_LEFT)

    # Call Automation.

    def connect(
        self,
        locator: CallLocator,
        callback_uri: str,
        operation_context: str | None,
        cognitive_services_endpoint: str | None = None,
        api_version: str | None = None,
    ) -> CallConnection:
        call = self._find_call(locator)
        connection = CallConnection(
            id=new_connection_id(),
            callback_uri=callback_uri,
            operation_context=operation_context,
            locator=locator,
            created_at=self._clock.now(),
            server_call_id=call.server_call_id if call else None,
            correlation_id=call.correlation_id if call else str(uuid.uuid4()),
            cognitive_services_endpoint=cognitive_services_endpoint,
            api_version=api_version,
        )
        self.registry.add_connection(connection)
        if call is not None:
            call.connections[connection.id] = connection
        self._spawn(self._establish(connection))
        return connection

    def connection(self, connection_id: str) -> CallConnection:
        connection = self.registry.connection(connection_id)
        if connection is None:
            raise connection_not_found()
        return connection

    def call_of(self, connection: CallConnection) -> RoomCall:
        """The call an action acts on: 400/8501 while the connection is still ``connecting``
        (its CallConnected has not gone out), so no event of the action can precede it."""
        call = self.readable_call_of(connection)
        if connection.state != "connected":
            raise not_established()
        return call

    def readable_call_of(self, connection: CallConnection) -> RoomCall:
        """The call whose participants a connection may read: already while it is connecting,
        once the call it connects to is known; 400/8501 before that."""
        call = self.registry.call_of(connection)
        if call is None:
            raise not_established()
        return call

    def terminate(self, connection_id: str) -> None:
        connection = self.connection(connection_id)
        call = self.registry.call_of(connection)
        if call is None:
            self._disconnect(connection, events.ENDED_FOR_EVERYONE)
        else:
            self._end(call, events.ENDED_FOR_EVERYONE)

    def hang_up(self, connection_id: str) -> None:
        connection = self.connection(connection_id)
        call = self.registry.call_of(connection)
        if call is not None:
            call.connections.pop(connection.id, None)
            for listener in self.listeners:
                listener.connection_closed(call, connection)
        self._disconnect(connection, events.APP_LEFT)

    def notify(
        self, connection: CallConnection, name: str, data: dict[str, Any], *, callback_uri: str | None = None
    ) -> None:
        """Send one callback event for ``connection``, to its callback URI unless an operation
        names its own (``operationCallbackUri``); nothing goes out after its CallDisconnected."""
        if connection.state == "disconnected":
            return
        event = events.cloud_event(
            connection.id, name, data, self._clock.now(), version=connection.api_version
        )
        self._callbacks.submit(callback_uri or connection.callback_uri, connection.id, event)

    def participants_changed(self, call: RoomCall) -> None:
        """Bump the participant list's version and tell every connected connection."""
        call.participants_changed()
        for connection in call.connections.values():
            if connection.state == "connected":
                self.notify(
                    connection, "ParticipantsUpdated", events.participants_updated_data(connection, call)
                )

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _find_call(self, locator: CallLocator) -> RoomCall | None:
        if locator.kind == "roomCallLocator":
            check_room_id(locator.id)
            if self._rooms.get(locator.id) is None:
                raise call_not_found(locator.id, f"Room {locator.id} not found.")
            return self.registry.call_for_room(locator.id)
        if locator.kind == "serverCallLocator":
            return self.registry.call_by_server_id(locator.id)
        return None

    async def _establish(self, connection: CallConnection) -> None:
        await self._clock.sleep(CONNECT_SECONDS)
        if connection.state != "connecting":
            return
        call = self.registry.call_of(connection)
        if call is None:
            self.notify(
                connection, "ConnectFailed", events.connection_data(connection, events.NO_RUNNING_CALL)
            )
            connection.state = "disconnected"
            self.registry.remove_connection(connection)
            return
        connection.state = "connected"
        self.notify(connection, "CallConnected", events.connection_data(connection, events.CONNECTED))
        self.notify(connection, "ParticipantsUpdated", events.participants_updated_data(connection, call))

    def _end(self, call: RoomCall, result: Result) -> None:
        for listener in self.listeners:
            listener.call_ended(call)
        call.state = "ended"
        self.registry.remove_call(call)
        for connection in list(call.connections.values()):
            self._disconnect(connection, result)
        call.connections.clear()
        for participant in list(call.participants.values()):
            if is_acs_user(participant.raw_id):
                self._publish(
                    "CallParticipantRemoved",
                    events.participant_subject(call, participant),
                    events.participant_lifecycle_data(call, participant),
                )
        call.participants.clear()
        ended = events.call_lifecycle_data(call)
        ended["durationOfCall"] = (self._clock.now() - call.started_at).total_seconds()
        self._publish("CallEnded", events.ended_subject(call), ended)

    def _disconnect(self, connection: CallConnection, result: Result) -> None:
        self.notify(connection, "CallDisconnected", events.connection_data(connection, result))
        connection.state = "disconnected"
        self.registry.remove_connection(connection)

    def _publish(self, name: str, subject: str, data: dict[str, Any]) -> None:
        self._eventgrid.publish(events.EVENT_PREFIX + name, subject, data)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
