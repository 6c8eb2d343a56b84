"""The announcements HTTP API (backend key) and its OpenAPI description.

- ``POST /api/rooms/{roomId}/announcements`` → 202 with the announcement and its ``Location``.
- ``GET /api/announcements/{announcementId}`` → its status.
- ``DELETE /api/announcements/{announcementId}`` → 200 when a queued one is dropped at once, 202
  when a playing (or looping) one is being stopped: ACS then cancels every media operation of
  the call, a menu's prompt included, since ``cancelAllMediaOperations`` is all it offers.
- ``POST /ops/calls/{callConnectionId}/announcements`` (ops key): the same announcement, made by
  an operator (the console) for one call; 404 for a call the bot does not know, 409 when it ended.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from aiohttp import web

from bot import keys
from bot.acs import AcsError
from bot.problems import ProblemError, read_json
from bot.routes.acs_errors import acs_problem
from bot.routes.openapi import BACKEND, CALL_ID, OPS, ROOM_ID, json_response, links, problem_responses
from bot.routes.ops import call_of
from bot.routes.rooms import room_id_of
from bot.routes.schemas import HTTP_URL, PROMPT_SSML, PROMPT_TEXT, exactly_one, nullable
from handlers.announcements.audience import AudienceError
from handlers.announcements.model import (
    AUDIENCE_SHAPES,
    MAX_RAW_ID_CHARS,
    AlreadyFinished,
    Announcement,
    AnnouncementRequest,
    NoLiveCall,
    Role,
    Status,
)


class AnnouncementDesk(Protocol):
    """What the routes ask of the handler: create, look up and cancel announcements."""

    async def create(self, room_id: str, request: AnnouncementRequest) -> Announcement: ...

    async def get(self, announcement_id: str) -> Announcement | None: ...

    async def cancel(self, announcement: Announcement) -> tuple[Announcement, bool]: ...


CREATE_PATH = "/api/rooms/{roomId}/announcements"
ITEM_PATH = "/api/announcements/{announcementId}"
OPS_PATH = "/ops/calls/{callConnectionId}/announcements"
ANNOUNCEMENT_ID = re.compile(r"^[0-9a-f]{32}$")


def announcement_routes(handler: AnnouncementDesk) -> list[web.RouteDef]:
    async def create(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        return await announce(request, room_id_of(request))

    async def create_for_call(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "ops")
        return await announce(request, (await call_of(request, live=True)).room_id)

    async def announce(request: web.Request, room_id: str) -> web.Response:
        body = await read_json(request, AnnouncementRequest)
        try:
            announcement = await handler.create(room_id, body)
        except NoLiveCall as exc:
            raise ProblemError(409, "No live call", str(exc)) from None
        except AudienceError as exc:
            extra = {"participants": exc.missing} if exc.missing else None
            raise ProblemError(409, "Audience not in the call", str(exc), extra=extra) from None
        except AcsError as exc:
            raise acs_problem(exc, subject=f"room {room_id}") from None
        location = ITEM_PATH.format(announcementId=announcement.id)
        return web.json_response(announcement.to_doc(), status=202, headers={"Location": location})

    async def get(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        return web.json_response((await _find(handler, request)).to_doc())

    async def delete(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        announcement = await _find(handler, request)
        try:
            current, cancelled = await handler.cancel(announcement)
        except AlreadyFinished as exc:
            raise ProblemError(409, "Already finished", str(exc)) from None
        except AcsError as exc:
            subject = f"the call of announcement {announcement.id}"
            raise acs_problem(exc, subject=subject) from None
        return web.json_response(current.to_doc(), status=200 if cancelled else 202)

    return [
        web.post(CREATE_PATH, create),
        web.get(ITEM_PATH, get),
        web.delete(ITEM_PATH, delete),
        web.post(OPS_PATH, create_for_call),
    ]


async def _find(handler: AnnouncementDesk, request: web.Request) -> Announcement:
    announcement_id = request.match_info["announcementId"]
    found = await handler.get(announcement_id) if ANNOUNCEMENT_ID.match(announcement_id) else None
    if found is None:
        raise ProblemError(404, "Announcement not found", f"No announcement {announcement_id!r}.")
    return found


_RAW_ID = {"type": "string", "minLength": 1, "maxLength": MAX_RAW_ID_CHARS}
_RAW_IDS = {"type": "array", "items": _RAW_ID, "minItems": 1}
_AUDIENCE = {
    "description": f"Who hears it: {AUDIENCE_SHAPES}.",
    "oneOf": [
        {"enum": ["everyone", "pstn"]},
        {
            "type": "object",
            "required": ["participants"],
            "additionalProperties": False,
            "properties": {"participants": _RAW_IDS},
        },
        {
            "type": "object",
            "required": ["roles"],
            "additionalProperties": False,
            "properties": {
                "roles": {"type": "array", "minItems": 1, "items": {"enum": [role.value for role in Role]}}
            },
        },
    ],
}
_REQUEST = {
    "type": "object",
    "description": "Exactly one of text, ssml, audioUrl. interrupt (cut the media playing) is for "
    '"everyone" only, as in ACS.',
    "required": ["to"],
    "additionalProperties": False,
    "properties": {
        "text": nullable(PROMPT_TEXT),
        "ssml": nullable(PROMPT_SSML),
        "audioUrl": nullable(HTTP_URL),
        "voice": nullable({"type": "string", "minLength": 1, "maxLength": 100}),
        "locale": nullable({"type": "string", "minLength": 2, "maxLength": 20}),
        "to": _AUDIENCE,
        "loop": {"type": "boolean", "default": False},
        "interrupt": {"type": "boolean", "default": False},
    },
    "oneOf": exactly_one("text", "ssml", "audioUrl"),
    "anyOf": [
        {"properties": {"interrupt": {"const": False}}},
        {"properties": {"to": {"const": "everyone"}}},
    ],
}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_ANNOUNCEMENT = {
    "type": "object",
    "required": ["id", "roomId", "callConnectionId", "status", "to", "createdAt"],
    "properties": {
        "id": {"type": "string"},
        "roomId": {"type": "string"},
        "callConnectionId": {"type": "string"},
        "status": {"enum": [status.value for status in Status]},
        "to": {
            "description": "The raw ids addressed, or everyone",
            "oneOf": [{"const": "everyone"}, {"type": "array", "items": {"type": "string"}}],
        },
        "audience": _AUDIENCE,
        "prompt": {"type": "object"},
        "loop": {"type": "boolean"},
        "interrupt": {"type": "boolean"},
        "createdAt": {"type": "string", "format": "date-time"},
        "startedAt": _NULLABLE_TIME,
        "finishedAt": _NULLABLE_TIME,
        "resultCode": {"type": ["integer", "null"], "description": "ACS result code, once known"},
        "resultSubCode": {"type": ["integer", "null"]},
        "resultMessage": {"type": ["string", "null"]},
    },
}
_ID_PARAMETER = {"name": "announcementId", "in": "path", "required": True, "schema": {"type": "string"}}

OPENAPI_PATHS: dict[str, Any] = {
    CREATE_PATH: {
        "post": {
            "summary": "Play an announcement to everyone, listed participants, roles, or PSTN participants",
            "security": BACKEND,
            "parameters": [ROOM_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST}}},
            "responses": {
                "202": {
                    **json_response("Queued; follow Location for its status", _ANNOUNCEMENT),
                    **links(ITEM_PATH, "announcementId", "/id", "get", "delete"),
                },
                **problem_responses(400, 401, 403, 404, 409, 415, 422, 503),
            },
        }
    },
    OPS_PATH: {
        "post": {
            "summary": "An operator's announcement in one call (same body and answers as the backend's)",
            "security": OPS,
            "parameters": [CALL_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST}}},
            "responses": {
                "202": json_response("Queued; follow Location for its status", _ANNOUNCEMENT),
                **problem_responses(400, 401, 403, 404, 409, 415, 422, 503),
            },
        }
    },
    ITEM_PATH: {
        "get": {
            "summary": "An announcement's status",
            "security": BACKEND,
            "parameters": [_ID_PARAMETER],
            "responses": {
                "200": json_response("The announcement", _ANNOUNCEMENT),
                **problem_responses(401, 403, 404),
            },
        },
        "delete": {
            "summary": "Cancel a queued announcement or stop a playing one (ACS cancels every media "
            "operation of the call)",
            "security": BACKEND,
            "parameters": [_ID_PARAMETER],
            "responses": {
                "200": json_response("Cancelled before it played", _ANNOUNCEMENT),
                "202": json_response("Stopping; its status becomes cancelled", _ANNOUNCEMENT),
                **problem_responses(401, 403, 404, 409, 503),
            },
        },
    },
}
