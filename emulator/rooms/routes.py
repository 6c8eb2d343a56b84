"""The Rooms REST API (api-versions 2023-06-14, 2024-04-15, 2025-03-13).

``POST /rooms`` 201, ``GET /rooms`` paged, ``GET/PATCH/DELETE /rooms/{roomId}`` 200/200/204,
``GET /rooms/{roomId}/participants`` paged, ``PATCH /rooms/{roomId}/participants`` 200 ``{}``.
HMAC, api-version and Repeatability-Request-ID are handled by the app's middlewares.

As recorded (``Azure/azure-sdk-assets``, the JavaScript Rooms recordings of 2024): the
``Location`` of a new room is its bare id (``Location: 99462726014796969``), and ``GET /rooms``
lists the newest room first. A malformed room id is 400 before any lookup (see
``emulator.rooms.model.room_id_problem``); one that does not exist is 404. Assumption: a rejected
participant update changes nothing.
"""

from __future__ import annotations

from aiohttp import web

from emulator.keys import CLOCK, IDENTITIES, ROOMS
from emulator.protocol.errors import read_json_object
from emulator.rooms.merge_patch import RoomSettings, merge_participants, merge_room
from emulator.rooms.model import Room
from emulator.rooms.paging import paged_response
from emulator.rooms.wire import (
    MAX_VALIDITY,
    check_room_id,
    check_window,
    not_found,
    parse_participants,
    parse_room_patch,
    participant_json,
    require_patch_content_type,
    room_json,
    unsupported_identifier,
)


def _room(request: web.Request) -> Room:
    room_id = request.match_info["room_id"]
    check_room_id(room_id)
    room = request.app[ROOMS].get(room_id)
    if room is None:
        raise not_found()
    return room


async def create_room(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    patch = parse_room_patch(body)
    invited = parse_participants(body.get("participants"), request.app[IDENTITIES].belongs_to_resource)
    now = request.app[CLOCK].now()
    # Null means "default" on create: now, and 180 days after the start.
    valid_from = patch.valid_from or now
    valid_until = patch.valid_until or valid_from + MAX_VALIDITY
    check_window(valid_from, valid_until, now)
    store = request.app[ROOMS]
    room = Room(
        id=store.new_id(),
        created_at=now,
        valid_from=valid_from,
        valid_until=valid_until,
        pstn_dial_out_enabled=bool(patch.pstn_dial_out_enabled),
        participants=merge_participants({}, invited),
    )
    store.add(room)
    return web.json_response(room_json(room), status=201, headers={"Location": room.id})


async def list_rooms(request: web.Request) -> web.Response:
    newest_first = reversed(request.app[ROOMS].all())
    return paged_response(request, [room_json(room) for room in newest_first])


async def get_room(request: web.Request) -> web.Response:
    return web.json_response(room_json(_room(request)))


async def update_room(request: web.Request) -> web.Response:
    require_patch_content_type(request)
    room = _room(request)
    patch = parse_room_patch(await read_json_object(request))
    current = RoomSettings(room.valid_from, room.valid_until, room.pstn_dial_out_enabled)
    merged = merge_room(current, patch)
    check_window(merged.valid_from, merged.valid_until, request.app[CLOCK].now())
    room.valid_from = merged.valid_from
    room.valid_until = merged.valid_until
    room.pstn_dial_out_enabled = merged.pstn_dial_out_enabled
    return web.json_response(room_json(room))


async def delete_room(request: web.Request) -> web.Response:
    room = _room(request)
    request.app[ROOMS].delete(room.id)
    return web.Response(status=204)


async def list_participants(request: web.Request) -> web.Response:
    room = _room(request)
    return paged_response(
        request, [participant_json(raw_id, role) for raw_id, role in room.participants.items()]
    )


async def update_participants(request: web.Request) -> web.Response:
    require_patch_content_type(request)
    room = _room(request)
    body = await read_json_object(request)
    changes = parse_participants(
        body.get("participants"), request.app[IDENTITIES].belongs_to_resource, unsupported_identifier
    )
    merged = merge_participants(room.participants, changes)
    # In place: the call side may hold this roster while a call runs.
    room.participants.clear()
    room.participants.update(merged)
    return web.json_response({})


def setup(app: web.Application) -> None:
    """Register the Rooms routes."""
    app.router.add_post("/rooms", create_room)
    app.router.add_get("/rooms", list_rooms, allow_head=False)
    app.router.add_get("/rooms/{room_id}", get_room, allow_head=False)
    app.router.add_patch("/rooms/{room_id}", update_room)
    app.router.add_delete("/rooms/{room_id}", delete_room)
    app.router.add_get("/rooms/{room_id}/participants", list_participants, allow_head=False)
    app.router.add_patch("/rooms/{room_id}/participants", update_participants)
