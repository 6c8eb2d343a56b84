"""`POST /api/rooms/{roomId}/connect`: the backend asks the bot to join a room's call.

The answer says how the connect went (`bot.connect`): 202 ``connected`` (or ``connecting`` when
ACS has not said yet), 200 when the bot was already in the call, 409 when nobody has joined the
room yet. With ``{"waitForCallSeconds": N}`` that last case is 202 ``waiting`` instead: the bot
keeps connecting until the call starts or N seconds have passed.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from bot import keys
from bot.acs import AcsError
from bot.connect import MAX_WAIT_FOR_CALL_SECONDS, ConnectFailedError, ConnectRefused, NoCallRunning
from bot.problems import ProblemError, read_json
from bot.routes.acs_errors import acs_problem
from bot.routes.schemas import ROOM_ID_PATTERN
from config.values import JsonInt

routes = web.RouteTableDef()

# Room ids are numeric strings in ACS; anything else cannot be a room.
ROOM_ID = re.compile(ROOM_ID_PATTERN)
NO_CALL_TYPE = "urn:roombot:problem:no-call-running"


class ConnectOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    wait_for_call_seconds: JsonInt = Field(default=0, ge=0, le=MAX_WAIT_FOR_CALL_SECONDS)


def room_id_of(request: web.Request) -> str:
    room_id = request.match_info["roomId"]
    if not ROOM_ID.match(room_id):
        raise ProblemError(404, "Room not found", f"{room_id!r} is not a room id.")
    return room_id


async def _options(request: web.Request) -> ConnectOptions:
    # The body is optional: a bare POST connects without waiting.
    if not request.can_read_body or (await request.read()) == b"":
        return ConnectOptions()
    return await read_json(request, ConnectOptions)


def _failure_fields(exc: ConnectFailedError) -> dict[str, Any]:
    """The failed connection (its history is at /ops/calls/{id}) and ACS's result."""
    return {
        "callConnectionId": exc.call.call_connection_id,
        "resultCode": exc.failure.code,
        "resultSubCode": exc.failure.sub_code,
    }


@routes.post("/api/rooms/{roomId}/connect")
async def connect(request: web.Request) -> web.Response:
    request.app[keys.API_KEYS].require(request, "backend")
    room_id = room_id_of(request)
    options = await _options(request)
    try:
        result = await request.app[keys.CONNECTOR].connect(
            room_id, wait_for_call_seconds=options.wait_for_call_seconds
        )
    except NoCallRunning as exc:
        raise ProblemError(
            409,
            "No call is running in the room",
            f"Nobody has joined room {room_id} yet, so it has no call to connect to (ACS: {exc.failure}). "
            "Connect once a participant has joined, or send waitForCallSeconds to have the bot "
            "connect when the call starts.",
            NO_CALL_TYPE,
            _failure_fields(exc),
        ) from None
    except ConnectRefused as exc:
        raise ProblemError(502, "ACS refused the connect", str(exc), extra=_failure_fields(exc)) from None
    except AcsError as exc:
        raise acs_problem(exc, subject=f"room {room_id}") from None
    body: dict[str, Any] = {"roomId": room_id, "callConnectionId": None, "serverCallId": None}
    if result.waiting_until is not None:
        body.update(status="waiting", waitUntil=result.waiting_until.isoformat())
        return web.json_response(body, status=202)
    assert result.call is not None  # a Connection without a wait has its call
    body.update(
        callConnectionId=result.call.call_connection_id,
        serverCallId=result.call.server_call_id,
        status=result.call.state,
    )
    status = 202 if result.created else 200
    headers = {"Location": f"/ops/calls/{result.call.call_connection_id}"}
    return web.json_response(body, status=status, headers=headers)
