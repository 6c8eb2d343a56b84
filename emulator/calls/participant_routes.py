"""Call Automation participant actions: ``participants:add``, ``:remove``,
``:cancelAddParticipant`` and ``:mute`` on a call connection (api-version 2026-03-12 shapes).

- add → 202 ``{participant, operationContext, invitationId}``, then the invitation rings
  (``invitations.py``). A phone number needs ``sourceCallerIdNumber`` (400/8523 otherwise, as ACS
  answers) and a room whose ``pstnDialOutEnabled`` is true; an ACS user must be of this resource
  (403/7507) and on the room's roster (403). ``invitationTimeoutInSeconds`` is 1..180, default 60.
- remove → 202 ``{operationContext}``, RemoveParticipantSucceeded then ParticipantsUpdated (the
  last one out ends the call, as a leave does).
- cancelAddParticipant → 202 ``{invitationId, operationContext}``; the outcome is an event.
- mute → 200 ``{operationContext}``; ACS users only, as ACS allows; ParticipantsUpdated follows.

Assumptions where ACS's documentation is silent (the real service wins if it differs):
- A room with ``pstnDialOutEnabled`` false refuses a phone at once with 403 and the code
  ``PstnDialOutDisabled``; ACS publishes no code for this case.
- The source caller id must be a valid E.164 number; ACS also demands one the resource owns,
  which the emulator cannot know, so it accepts any.
- Adding someone already in the call is 409/8519; removing or muting someone not in the call is
  404/8522, answered at once rather than through a *Failed event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from emulator.calls import wire
from emulator.calls.events import Result
from emulator.calls.invitations import DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS, Ringer, operation_data
from emulator.calls.model import CallConnection, RoomCall
from emulator.calls.routes import BASE, CONNECTION, _json_object, _optional_str
from emulator.keys import CALLS, CLOCK, CONFIG, INVITATIONS, MEDIA, PHONES, ROOMS
from emulator.phones import e164
from emulator.protocol.errors import AcsError, invalid
from emulator.urls import is_http_url

REMOVED = Result(200, 0, "The participant was removed from the call.")


def raw_id_of(model: Any, target: str) -> str:
    """The raw id a ``CommunicationIdentifierModel`` names; its typed property must agree."""
    if not isinstance(model, dict):
        raise invalid(f"The field {target} is required.", target=target)
    phone = model.get("phoneNumber")
    user = model.get("communicationUser")
    typed: str | None = None
    if isinstance(phone, dict) and isinstance(phone.get("value"), str):
        typed = wire.PHONE_PREFIX + phone["value"]
    elif isinstance(user, dict) and isinstance(user.get("id"), str):
        typed = user["id"]
    raw_id = model.get("rawId")
    if isinstance(raw_id, str) and raw_id:
        if typed is not None and typed != raw_id:
            raise invalid(f"{target}: rawId {raw_id!r} does not match {typed!r}.", target=target)
        return raw_id
    if typed is None:
        raise invalid(f"{target} names no identifier.", target=target)
    return typed


def callback_override(body: dict[str, Any]) -> str | None:
    """The request's ``operationCallbackUri``, if it names one; 400/8523 when it is no URL."""
    value = body.get("operationCallbackUri")
    if value is None:
        return None
    if not is_http_url(value):
        raise invalid("The field OperationCallbackUri is invalid.", target="operationCallbackUri")
    return str(value)


def _timeout(body: dict[str, Any]) -> int:
    value = body.get("invitationTimeoutInSeconds")
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TIMEOUT_SECONDS:
        raise invalid(
            f"InvitationTimeoutInSeconds must be between 1 and {MAX_TIMEOUT_SECONDS}.",
            target="invitationTimeoutInSeconds",
        )
    return value


def _caller_id(body: dict[str, Any]) -> str:
    model = body.get("sourceCallerIdNumber")
    value = model.get("value") if isinstance(model, dict) else None
    if not isinstance(value, str) or not value:
        raise invalid(
            "SourceCallerIdNumber is required to add a phone number.", target="sourceCallerIdNumber"
        )
    if e164(value) is None:
        raise invalid(f"SourceCallerIdNumber {value!r} is not a valid E.164 number.", "sourceCallerIdNumber")
    return value


def _check_invitee(request: web.Request, call: RoomCall, raw_id: str, body: dict[str, Any]) -> str | None:
    """Refuse what ACS refuses; returns the caller id shown to a phone."""
    kind = wire.identifier_kind(raw_id)
    room = request.app[ROOMS].get(call.room_id)
    if kind == "phoneNumber":
        if e164(raw_id.removeprefix(wire.PHONE_PREFIX)) is None:
            raise invalid(f"{raw_id!r} is not a valid E.164 phone number.", target="participantToAdd")
        caller_id = _caller_id(body)
        if room is None or not room.pstn_dial_out_enabled:
            raise AcsError(
                403,
                "PstnDialOutDisabled",
                f"PSTN dial-out is not enabled for room {call.room_id}: set pstnDialOutEnabled first.",
            )
        return caller_id
    if kind != "communicationUser":
        raise invalid(f"A room call can add phone numbers and ACS users, not {kind}.", "participantToAdd")
    resource = request.app[CONFIG].resource_id
    if not raw_id.startswith(f"8:acs:{resource}_"):
        raise AcsError(403, "7507", "The identity does not belong to this Communication Services resource.")
    if room is None or room.role_of(raw_id) is None:
        raise AcsError(403, "Forbidden", f"{raw_id} is not on the roster of room {call.room_id}.")
    return None


def _ringer(request: web.Request) -> Ringer:
    return request.app[INVITATIONS]


def _call(request: web.Request) -> tuple[CallConnection, RoomCall]:
    service = request.app[CALLS]
    connection = service.connection(request.match_info["call_connection_id"])
    return connection, service.call_of(connection)


async def add_participant(request: web.Request) -> web.Response:
    body = await _json_object(request)
    connection, call = _call(request)
    raw_id = raw_id_of(body.get("participantToAdd"), "participantToAdd")
    operation_context = _optional_str(body, "operationContext")
    callback_uri = callback_override(body)
    timeout = _timeout(body)
    caller_id = _check_invitee(request, call, raw_id, body)
    if raw_id in call.participants:
        raise AcsError(409, "8519", f"{raw_id} is already in the call.")
    invitation = _ringer(request).invite(
        connection,
        call,
        raw_id,
        operation_context=operation_context,
        callback_uri=callback_uri,
        timeout_seconds=timeout,
        source_caller_id=caller_id,
    )
    answer: dict[str, Any] = {
        "participant": {"identifier": wire.identifier(raw_id), "isMuted": False, "isOnHold": False},
        "invitationId": invitation.id,
    }
    if operation_context is not None:
        answer["operationContext"] = operation_context
    return web.json_response(answer, status=202)


async def remove_participant(request: web.Request) -> web.Response:
    body = await _json_object(request)
    connection, call = _call(request)
    raw_id = raw_id_of(body.get("participantToRemove"), "participantToRemove")
    operation_context = _optional_str(body, "operationContext")
    callback_uri = callback_override(body)
    if raw_id not in call.participants:
        raise AcsError(404, "8522", "Participant not found in the call.")
    data = operation_data(connection, REMOVED, operation_context)
    data["participant"] = wire.identifier(raw_id)
    service = request.app[CALLS]
    service.notify(connection, "RemoveParticipantSucceeded", data, callback_uri=callback_uri)
    service.remove_participant(call, raw_id)
    return web.json_response(_context(operation_context), status=202)


async def cancel_add_participant(request: web.Request) -> web.Response:
    body = await _json_object(request)
    connection, _ = _call(request)
    invitation_id = body.get("invitationId")
    if not isinstance(invitation_id, str) or not invitation_id:
        raise invalid("The field InvitationId is required.", target="invitationId")
    operation_context = _optional_str(body, "operationContext")
    _ringer(request).cancel(
        connection,
        invitation_id,
        operation_context=operation_context,
        callback_uri=callback_override(body),
    )
    return web.json_response({"invitationId": invitation_id, **_context(operation_context)}, status=202)


async def mute(request: web.Request) -> web.Response:
    body = await _json_object(request)
    _, call = _call(request)
    targets = body.get("targetParticipants")
    # ACS mutes one participant per request.
    if not isinstance(targets, list) or len(targets) != 1:
        raise invalid("TargetParticipants must hold exactly one participant.", target="targetParticipants")
    raw_id = raw_id_of(targets[0], "targetParticipants")
    operation_context = _optional_str(body, "operationContext")
    if not wire.is_acs_user(raw_id):
        raise invalid("Only Communication Services users can be muted.", target="targetParticipants")
    participant = call.participants.get(raw_id)
    if participant is None:
        raise AcsError(404, "8522", "Participant not found in the call.")
    if not participant.is_muted:
        participant.is_muted = True
        request.app[CALLS].participants_changed(call)
    return web.json_response(_context(operation_context), status=200)


def _context(operation_context: str | None) -> dict[str, Any]:
    return {} if operation_context is None else {"operationContext": operation_context}


def setup(app: web.Application) -> None:
    calls = app[CALLS]
    ringer = Ringer(
        calls=calls,
        rooms=app[ROOMS],
        clock=app[CLOCK],
        # Read when a phone rings: the phone book and the media engine are set up after this.
        phones=lambda number: app[PHONES].behaviour(number),
        keypad=lambda: app[MEDIA].press_keys if MEDIA in app else None,
    )
    app[INVITATIONS] = ringer
    calls.listeners.append(ringer)

    async def ringing(app: web.Application) -> AsyncIterator[None]:
        yield
        await ringer.close()

    app.cleanup_ctx.append(ringing)
    participants = f"{BASE}/{CONNECTION}/participants"
    app.router.add_post(f"{participants}:add", add_participant)
    app.router.add_post(f"{participants}:remove", remove_participant)
    app.router.add_post(f"{participants}:cancelAddParticipant", cancel_add_participant)
    app.router.add_post(f"{participants}:mute", mute)
