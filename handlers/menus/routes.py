"""The menus handler's HTTP API: run a menu for a participant, and look at a session.

``POST /api/rooms/{roomId}/menus`` ``{participant: rawId, menu: name}`` → 202 with the session
and ``Location: /api/menu-sessions/{sessionId}``. An unknown menu is 422; no live call for the
room, a participant who is not in the call (by the bot's books or, when they miss them, by ACS's
list of the call's participants), or one already in a menu is 409.

For operators (ops key): ``POST /ops/calls/{callConnectionId}/menus`` (the same body and answers,
for one call; 404 for a call the bot does not know) and ``GET /ops/menus``, the menus there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot import keys
from bot.acs import AcsFacade
from bot.calls import listed_by_acs
from bot.messages import MenuRefused
from bot.problems import VALIDATION_TYPE, ProblemError, read_json
from bot.routes.openapi import BACKEND, CALL_ID, OPS, ROOM_ID, json_response, links, problem_responses
from bot.routes.ops import call_of
from bot.routes.rooms import room_id_of
from bot.state.base import CallRecord
from handlers.menus.driver import MenuDriver

SESSION_PATH = "/api/menu-sessions/{sessionId}"
OPS_PATH = "/ops/calls/{callConnectionId}/menus"
OPS_LIST_PATH = "/ops/menus"


class RunMenuBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participant: str = Field(min_length=1, description="Raw id of a participant in the call")
    menu: str = Field(min_length=1, description="Name of a menu of the menu file")


def session_location(session_id: str) -> str:
    return SESSION_PATH.replace("{sessionId}", session_id)


async def in_call(acs: AcsFacade, call: CallRecord, raw_id: str) -> bool:
    """Whether ``raw_id`` is in the call: as the bot's books say, or else as ACS says (see
    `bot.calls.listed_by_acs`); when ACS cannot be asked, the books decide."""
    if raw_id in {participant.raw_id for participant in call.participants}:
        return True
    return raw_id in (await listed_by_acs(acs, call.call_connection_id) or ())


def menu_routes(driver: Callable[[], MenuDriver]) -> list[web.RouteDef]:
    """The routes; ``driver`` gives the running driver (it exists once the bot started)."""

    async def run_menu(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        room_id = room_id_of(request)
        body = await read_json(request, RunMenuBody)
        check_menu(body.menu)
        call = await request.app[keys.REGISTRY].live_call_for_room(room_id)
        if call is None:
            raise ProblemError(
                409, "No live call", f"The bot is not in a call of room {room_id}; connect it first."
            )
        return await begin(request, call, body)

    async def run_menu_in_call(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "ops")
        body = await read_json(request, RunMenuBody)
        check_menu(body.menu)
        return await begin(request, await call_of(request, live=True), body)

    def check_menu(name: str) -> None:
        menus = driver().menus
        if name not in menus:
            known = ", ".join(sorted(menus.menus)) or "none"
            detail = f"menu: there is no menu named {name!r} (menus: {known})"
            errors = [{"field": "menu", "message": detail.removeprefix("menu: ")}]
            raise ProblemError(422, "Unknown menu", detail, VALIDATION_TYPE, {"errors": errors})

    async def begin(request: web.Request, call: CallRecord, body: RunMenuBody) -> web.Response:
        if not await in_call(request.app[keys.ACS], call, body.participant):
            raise ProblemError(
                409, "Not in the call", f"{body.participant} is not in the call of room {call.room_id}."
            )
        try:
            record = await driver().begin(call, body.participant, body.menu, {})
        except MenuRefused as exc:
            raise ProblemError(409, "Menu not started", exc.message) from None
        location = session_location(record.id)
        return web.json_response(record.view(), status=202, headers={"Location": location})

    async def list_menus(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "ops")
        return web.json_response([{"name": name} for name in sorted(driver().menus.menus)])

    async def get_session(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        session_id = request.match_info["sessionId"]
        record = await driver().sessions.get(session_id)
        if record is None:
            raise ProblemError(
                404, "Menu session not found", f"No menu session {session_id!r} in a live call."
            )
        return web.json_response(record.view())

    return [
        web.post("/api/rooms/{roomId}/menus", run_menu),
        web.get(SESSION_PATH, get_session),
        web.post(OPS_PATH, run_menu_in_call),
        web.get(OPS_LIST_PATH, list_menus),
    ]


SESSION_ID = {"name": "sessionId", "in": "path", "required": True, "schema": {"type": "string"}}
SESSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sessionId": {"type": "string"},
        "roomId": {"type": "string"},
        "callConnectionId": {"type": "string"},
        "participant": {"type": "string"},
        "menu": {"type": "string", "description": "The menu the participant is in now"},
        "startMenu": {"type": "string"},
        "status": {"enum": ["running", "completed", "maxTries", "hangup", "cancelled", "failed"]},
        "tries": {"type": "integer", "description": "Recognize operations asked so far"},
        "failedTries": {"type": "object", "additionalProperties": {"type": "integer"}},
        "lastEntry": {"type": ["string", "null"]},
        "createdAt": {"type": "string", "format": "date-time"},
        "updatedAt": {"type": "string", "format": "date-time"},
    },
}


def openapi_paths(menu_names: Iterable[str]) -> dict[str, Any]:
    """The document of these routes; ``menu`` takes the names of the loaded menus."""
    body = {
        "type": "object",
        "required": ["participant", "menu"],
        "additionalProperties": False,
        "properties": {
            "participant": {
                "type": "string",
                "minLength": 1,
                "description": "Raw id of a participant in the call",
            },
            "menu": {"enum": sorted(menu_names), "description": "A menu of the loaded menu files"},
        },
    }
    described = dict(OPENAPI_PATHS)
    for path in (MENUS_PATH, OPS_PATH):
        post = OPENAPI_PATHS[path]["post"]
        request = {**post["requestBody"], "content": {"application/json": {"schema": body}}}
        described[path] = {"post": {**post, "requestBody": request}}
    return described


MENUS_PATH = "/api/rooms/{roomId}/menus"
OPENAPI_PATHS: dict[str, Any] = {
    MENUS_PATH: {
        "post": {
            "summary": "Run a DTMF menu for a participant of the room's call",
            "security": BACKEND,
            "parameters": [ROOM_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": RunMenuBody.model_json_schema()}},
            },
            "responses": {
                "202": {
                    **json_response("The menu session started", SESSION_SCHEMA),
                    **links(SESSION_PATH, "sessionId", "/sessionId", "get"),
                },
                **problem_responses(400, 401, 403, 404, 409, 415, 422),
            },
        }
    },
    OPS_PATH: {
        "post": {
            "summary": "An operator runs a DTMF menu for a participant of one call",
            "security": OPS,
            "parameters": [CALL_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": RunMenuBody.model_json_schema()}},
            },
            "responses": {
                "202": json_response("The menu session started", SESSION_SCHEMA),
                **problem_responses(400, 401, 403, 404, 409, 415, 422),
            },
        }
    },
    OPS_LIST_PATH: {
        "get": {
            "summary": "The menus of the menu file, by name",
            "security": OPS,
            "responses": {
                "200": json_response(
                    "Menus",
                    {
                        "type": "array",
                        "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                    },
                ),
                **problem_responses(401, 403),
            },
        }
    },
    SESSION_PATH: {
        "get": {
            "summary": "A menu session: where the participant is, and how it ended",
            "security": BACKEND,
            "parameters": [
                {"name": "sessionId", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": json_response("The menu session", SESSION_SCHEMA),
                **problem_responses(401, 403, 404),
            },
        }
    },
}
