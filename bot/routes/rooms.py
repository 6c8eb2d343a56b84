"""`POST /api/rooms/{roomId}/connect`: the backend asks the bot to join a room's call."""

from __future__ import annotations

import re

from aiohttp import web

from bot import keys
from bot.acs import AcsError
from bot.problems import ProblemError
from bot.routes.acs_errors import acs_problem

routes = web.RouteTableDef()

# Room ids are numeric strings in ACS; anything else cannot be a room.
ROOM_ID = re.compile(r"^[0-9]{1,40}$")


def room_id_of(request: web.Request) -> str:
    room_id = request.match_info["roomId"]
    if not ROOM_ID.match(room_id):
        raise ProblemError(404, "Room not found", f"{room_id!r} is not a room id.")
    return room_id


@routes.post("/api/rooms/{roomId}/connect")
async def connect(request: web.Request) -> web.Response:
    request.app[keys.API_KEYS].require(request, "backend")
    room_id = room_id_of(request)
    try:
        result = await request.app[keys.COMMANDS].connect(room_id)
    except AcsError as exc:
        raise acs_problem(exc, subject=f"room {room_id}") from None
    body = {
        "roomId": room_id,
        "callConnectionId": result.call.call_connection_id,
        "serverCallId": result.call.server_call_id,
        "status": result.call.state,
    }
    status = 202 if result.created else 200
    headers = {"Location": f"/ops/calls/{result.call.call_connection_id}"}
    return web.json_response(body, status=status, headers=headers)
