"""`/ops/...`: what operators see and do: live calls (paged, see `bot.routes.paging`), their
history, end for everyone."""

from __future__ import annotations

from aiohttp import web

from bot import keys
from bot.acs import AcsError
from bot.problems import ProblemError
from bot.routes.acs_errors import acs_problem
from bot.routes.paging import limit_of, page_of
from bot.routes.rooms import room_id_of
from bot.routes.views import call_json
from bot.state.base import CallRecord

routes = web.RouteTableDef()


async def call_of(request: web.Request, *, live: bool = False) -> CallRecord:
    """The call a ``/ops/calls/{callConnectionId}/...`` path names: 404 when the bot knows no such
    call; with ``live``, 409 when it has ended."""
    call_id = request.match_info["callConnectionId"]
    call = await request.app[keys.REGISTRY].get(call_id)
    if call is None:
        raise ProblemError(404, "Call not found", f"The bot knows no call {call_id!r}.")
    if live and not call.is_live:
        raise ProblemError(409, "Call ended", f"Call {call_id} has ended.")
    return call


async def _end(request: web.Request, call: CallRecord) -> web.Response:
    if call.ended_at is not None:
        raise ProblemError(409, "Call already ended", f"Call {call.call_connection_id} has ended.")
    try:
        await request.app[keys.COMMANDS].end(call)
    except AcsError as exc:
        raise acs_problem(exc, subject=f"call {call.call_connection_id}") from None
    request.app[keys.FEED].call_changed(call.call_connection_id, call.room_id, "endRequested")
    body = {"roomId": call.room_id, "callConnectionId": call.call_connection_id, "status": "ending"}
    return web.json_response(body, status=202)


@routes.get("/ops/calls")
async def list_calls(request: web.Request) -> web.Response:
    request.app[keys.API_KEYS].require(request, "ops")
    limit = limit_of(request)
    room_filter = request.query.get("roomId", "").strip() or None
    page = await page_of(
        request.app[keys.REGISTRY], limit=limit, cursor=request.query.get("cursor"), room_filter=room_filter
    )
    roles = await request.app[keys.ROLES].of_rooms(call.room_id for call in page.calls)
    return web.json_response(
        [call_json(call, roles[call.room_id]) for call in page.calls],
        headers=page.headers(request.path, limit, room_filter),
    )


@routes.get("/ops/calls/{callConnectionId}")
async def get_call(request: web.Request) -> web.Response:
    request.app[keys.API_KEYS].require(request, "ops")
    call = await call_of(request)
    events = await request.app[keys.STORE].events(call.call_connection_id)
    roles = await request.app[keys.ROLES].roles(call.room_id)
    return web.json_response({**call_json(call, roles), "events": events})


@routes.post("/ops/calls/{callConnectionId}/end")
async def end_call(request: web.Request) -> web.Response:
    request.app[keys.API_KEYS].require(request, "ops")
    return await _end(request, await call_of(request))


@routes.post("/ops/rooms/{roomId}/end")
async def end_room(request: web.Request) -> web.Response:
    request.app[keys.API_KEYS].require(request, "ops")
    room_id = room_id_of(request)
    call = await request.app[keys.REGISTRY].live_call_for_room(room_id)
    if call is None:
        raise ProblemError(404, "No live call", f"The bot is not in a call of room {room_id}.")
    return await _end(request, call)
