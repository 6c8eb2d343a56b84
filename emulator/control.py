"""The simulation control API under ``/emulator`` (no auth; loopback clients only by default).

- ``POST /emulator/rooms/{roomId}/participants/{rawId}:join`` (optional body ``{displayName}``)
  → 200 ``{serverCallId}``; 403 off the roster, 409 outside the validity window, 404 no room.
- ``POST .../{rawId}:leave`` → 204; the last one out ends the call. A deleted room's call goes
  on (as in ACS), so leave and ``:dtmf`` still reach it.
- ``POST .../{rawId}:dtmf`` ``{tones: "1#"}`` → 200 ``{tones: [words]}``: the participant presses
  keys (see ``emulator.calls.media.routes.press_keys``).
- ``GET /emulator/rooms/{roomId}/call`` → the room call as the emulator sees it, 404 if none.
- ``POST /emulator/eventgrid/subscriptions`` ``{endpoint, maxEventsPerBatch?}`` → 201 after the
  handshake, else 400 (events per delivery: 1 by default, as Event Grid's; up to 5,000);
  ``GET`` lists them, ``DELETE .../{id}`` removes one.
- ``GET /emulator/requests`` → the ACS requests received, oldest first; ``DELETE`` clears them.

Raw ids hold ``:`` and ``+``; routes match them URL-encoded or literal, since the router sees
the decoded path. Errors use the ACS error body.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.calls.media import routes as media_routes
from emulator.calls.model import RoomCall
from emulator.calls.wire import identifier_kind
from emulator.delivery.eventgrid import DEFAULT_EVENTS_PER_BATCH
from emulator.keys import CALLS, EVENT_GRID, INVITATIONS, REQUEST_LOG
from emulator.protocol.errors import AcsError

ROOM = "{room_id:[^/]+}"
# Greedy up to the last ':' of the segment, so the raw id keeps its own colons.
PARTICIPANT_ACTION = "/emulator/rooms/" + ROOM + "/participants/{raw_id:[^/]+}:{action:join|leave|dtmf}"


async def _optional_json_object(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise AcsError(400, "BadRequest", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise AcsError(400, "BadRequest", "The request body must be a JSON object.")
    return body


def call_view(call: RoomCall) -> dict[str, Any]:
    return {
        "serverCallId": call.server_call_id,
        "roomId": call.room_id,
        "state": call.state,
        "startedAt": call.started_at.isoformat(),
        "participants": [
            {
                "rawId": p.raw_id,
                "kind": identifier_kind(p.raw_id),
                "role": p.role,
                "state": p.state,
                "isMuted": p.is_muted,
            }
            for p in call.participants.values()
        ],
        "media": list(call.media),
        "connections": list(call.connections),
    }


async def participant_action(request: web.Request) -> web.Response:
    room_id = request.match_info["room_id"]
    raw_id = request.match_info["raw_id"]
    service = request.app[CALLS]
    if request.match_info["action"] == "dtmf":
        return await media_routes.press_keys(request)
    if request.match_info["action"] == "leave":
        service.leave(room_id, raw_id)
        return web.Response(status=204)
    display_name = (await _optional_json_object(request)).get("displayName", "")
    if not isinstance(display_name, str):
        raise AcsError(400, "BadRequest", "displayName must be a string.", target="displayName")
    call = service.join(room_id, raw_id, display_name)
    return web.json_response({"serverCallId": call.server_call_id})


async def get_room_call(request: web.Request) -> web.Response:
    room_id = request.match_info["room_id"]
    call = request.app[CALLS].registry.call_for_room(room_id)
    if call is None:
        raise AcsError(404, "NotFound", f"No call is running in room {room_id}.")
    return web.json_response(call_view(call))


async def create_subscription(request: web.Request) -> web.Response:
    body = await _optional_json_object(request)
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str):
        raise AcsError(400, "BadRequest", "endpoint is required.", target="endpoint")
    per_batch = body.get("maxEventsPerBatch", DEFAULT_EVENTS_PER_BATCH)
    if isinstance(per_batch, bool) or not isinstance(per_batch, int):
        raise AcsError(400, "BadRequest", "maxEventsPerBatch must be an integer.", target="maxEventsPerBatch")
    subscription = await request.app[EVENT_GRID].subscribe(endpoint, per_batch)
    return web.json_response(subscription.wire(), status=201)


async def list_subscriptions(request: web.Request) -> web.Response:
    return web.json_response([s.wire() for s in request.app[EVENT_GRID].subscriptions()])


async def delete_subscription(request: web.Request) -> web.Response:
    subscription_id = request.match_info["subscription_id"]
    if not request.app[EVENT_GRID].unsubscribe(subscription_id):
        raise AcsError(404, "NotFound", f"Subscription {subscription_id} does not exist.")
    return web.Response(status=204)


async def list_invitations(request: web.Request) -> web.Response:
    room_id = request.query.get("roomId")
    number = request.query.get("phoneNumber")
    # A literal '+' in a query string reads as a space, so the number is matched by its digits.
    raw_id = None if number is None else "4:+" + number.strip().lstrip("+")
    found = [
        invitation.wire()
        for invitation in request.app[INVITATIONS].invitations()
        if (room_id is None or invitation.room_id == room_id)
        and (raw_id is None or invitation.raw_id == raw_id)
    ]
    return web.json_response(found)


async def list_requests(request: web.Request) -> web.Response:
    return web.json_response(request.app[REQUEST_LOG].entries())


async def clear_requests(request: web.Request) -> web.Response:
    request.app[REQUEST_LOG].clear()
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    app.router.add_post(PARTICIPANT_ACTION, participant_action)
    app.router.add_get("/emulator/rooms/" + ROOM + "/call", get_room_call)
    app.router.add_post("/emulator/eventgrid/subscriptions", create_subscription)
    app.router.add_get("/emulator/eventgrid/subscriptions", list_subscriptions)
    app.router.add_delete("/emulator/eventgrid/subscriptions/{subscription_id}", delete_subscription)
    app.router.add_get("/emulator/invitations", list_invitations)
    app.router.add_get("/emulator/requests", list_requests)
    app.router.add_delete("/emulator/requests", clear_requests)
