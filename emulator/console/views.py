"""What the emulator console reads besides the control API (loopback only, like it):

- ``GET /emulator/rooms`` → every room, oldest first: ``{id, validFrom, validUntil,
  pstnDialOutEnabled, open, roster: [{rawId, role}], call}``, where ``call`` is the room call as
  ``GET /emulator/rooms/{roomId}/call`` shows it (with ``displayName`` and ``isOnHold`` per
  participant), or null.
- ``GET /emulator/phones`` → the phones given a behaviour with ``PUT /emulator/phones/{e164}``.
- ``GET /emulator/callbacks`` → the callback and Event Grid POSTs sent (each attempt), oldest first:
  ``{id, kind, at, url, events: [{type, callConnectionId, operationContext, subject}], status,
  error}``; the last 500.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from emulator.calls.model import RoomCall
from emulator.console.deliveries import DeliveryLog
from emulator.control import call_view
from emulator.phones import PhoneBook
from emulator.rooms.model import RoomStore


def room_call_view(call: RoomCall) -> dict[str, Any]:
    view = call_view(call)
    for shown, participant in zip(view["participants"], call.participants.values(), strict=True):
        shown["displayName"] = participant.display_name
        shown["isOnHold"] = participant.is_on_hold
    return view


def view_routes(
    rooms: RoomStore,
    call_for_room: Callable[[str], RoomCall | None],
    phones: PhoneBook,
    deliveries: DeliveryLog,
    now: Callable[[], datetime],
) -> list[web.RouteDef]:
    """``call_for_room(room_id)`` gives the running call or None; ``now()`` the emulator's time."""

    async def list_rooms(request: web.Request) -> web.Response:
        moment = now()
        shown = []
        for room in rooms.all():
            call = call_for_room(room.id)
            shown.append(
                {
                    "id": room.id,
                    "validFrom": room.valid_from.isoformat(),
                    "validUntil": room.valid_until.isoformat(),
                    "pstnDialOutEnabled": room.pstn_dial_out_enabled,
                    "open": room.is_open_at(moment),
                    "roster": [{"rawId": raw_id, "role": role} for raw_id, role in room.participants.items()],
                    "call": room_call_view(call) if call is not None else None,
                }
            )
        return web.json_response(shown)

    async def list_phones(request: web.Request) -> web.Response:
        return web.json_response(
            [{"phoneNumber": number, **behaviour.wire()} for number, behaviour in phones.configured()]
        )

    async def list_callbacks(request: web.Request) -> web.Response:
        return web.json_response(deliveries.entries())

    return [
        web.get("/emulator/rooms", list_rooms),
        web.get("/emulator/phones", list_phones),
        web.get("/emulator/callbacks", list_callbacks),
    ]
