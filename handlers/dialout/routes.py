"""The dial-out API: ``POST /api/rooms/{roomId}/dialouts``, ``GET``/``DELETE /api/dialouts/{id}``.

A first trigger answers 202 with the new dial-out; a repeat with the same ``Idempotency-Key`` and
the same body answers 200 with the same dial-out as it is now, and ``Idempotent-Replayed: true``.
An operator cancels a ringing one with ``DELETE /ops/dialouts/{id}`` (ops key), as the backend's
``DELETE /api/dialouts/{id}`` does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot import keys
from bot.acs.types import AcsError
from bot.problems import ProblemError, read_json
from bot.routes.acs_errors import acs_problem
from bot.routes.openapi import BACKEND, OPS, ROOM_ID, json_response, links, problem_responses
from bot.routes.rooms import room_id_of
from bot.routes.schemas import E164, PROMPT, nullable
from handlers.dialout.errors import DialOutError
from handlers.dialout.model import RING_TIMEOUT_RANGE, DialOut, DialOutRequest, DialOutStatus
from handlers.dialout.service import DialOutService

IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# As in the IETF Idempotency-Key draft's examples and most payment APIs.
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def problem(exc: DialOutError) -> ProblemError:
    return ProblemError(exc.status, exc.title, exc.detail)


def idempotency_key(request: web.Request) -> str:
    key = request.headers.get(IDEMPOTENCY_KEY, "").strip()
    if key and not (key.isascii() and key.isprintable()):
        raise ProblemError(
            400,
            "Invalid Idempotency-Key",
            "The Idempotency-Key header must be printable ASCII (a UUID, say).",
        )
    if not key:
        raise ProblemError(
            400,
            "Idempotency-Key required",
            "Send an Idempotency-Key header (a unique string per dial-out, e.g. a UUID): a retried"
            " request with the same key never dials twice.",
        )
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ProblemError(
            400,
            "Idempotency-Key too long",
            f"The Idempotency-Key header may have at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
        )
    return key


def dialout_id_of(request: web.Request) -> str:
    dialout_id = request.match_info["id"]
    try:
        uuid.UUID(dialout_id)
    except ValueError:
        raise ProblemError(404, "Dial-out not found", f"{dialout_id!r} is not a dial-out id.") from None
    return dialout_id


def answer(dialout: DialOut, status: int, headers: dict[str, str] | None = None) -> web.Response:
    sent = {"Location": f"/api/dialouts/{dialout.id}", **(headers or {})}
    return web.json_response(dialout.view(), status=status, headers=sent)


class DialOutRoutes:
    def __init__(self, service: Callable[[], DialOutService]) -> None:
        self._service = service

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/rooms/{roomId}/dialouts", self.create),
            web.get("/api/dialouts/{id}", self.show),
            web.delete("/api/dialouts/{id}", self.cancel),
            web.delete("/ops/dialouts/{id}", self.cancel_by_operator),
        ]

    async def create(self, request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        room_id = room_id_of(request)
        key = idempotency_key(request)
        body = await read_json(request, DialOutRequest)
        try:
            dialout, created = await self._service().start(room_id, body, key)
        except DialOutError as exc:
            raise problem(exc) from None
        except AcsError as exc:
            raise acs_problem(exc, subject=f"room {room_id}") from None
        if created:
            return answer(dialout, 202)
        return answer(dialout, 200, {REPLAYED: "true"})

    async def show(self, request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        try:
            dialout = await self._service().get(dialout_id_of(request))
        except DialOutError as exc:
            raise problem(exc) from None
        return answer(dialout, 200)

    async def cancel(self, request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        return await self._cancel(request)

    async def cancel_by_operator(self, request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "ops")
        return await self._cancel(request)

    async def _cancel(self, request: web.Request) -> web.Response:
        dialout_id = dialout_id_of(request)
        try:
            dialout = await self._service().cancel(dialout_id)
        except DialOutError as exc:
            raise problem(exc) from None
        except AcsError as exc:
            raise acs_problem(exc, subject=f"the invitation of dial-out {dialout_id}") from None
        return answer(dialout, 202)


PROMPT_SCHEMA = PROMPT
# An Idempotency-Key is an RFC 8941 string: printable ASCII; spaces around it are dropped.
IDEMPOTENCY_KEY_PATTERN = "^[ -~]*[!-~][ -~]*$"
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["phoneNumber"],
    "additionalProperties": False,
    "properties": {
        "phoneNumber": E164,
        "callerId": nullable({**E164, "description": "The caller id shown; default ROOMBOT_PSTN_CALLER_ID"}),
        "ringTimeoutSeconds": nullable(
            {"type": "integer", "minimum": RING_TIMEOUT_RANGE[0], "maximum": RING_TIMEOUT_RANGE[1]}
        ),
        "confirmWithDtmf": {"type": "boolean", "default": False},
        "announcement": nullable(
            {**PROMPT_SCHEMA, "description": "Said to everyone once the callee is confirmed"}
        ),
    },
}
DIALOUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "roomId", "phoneNumber", "callerId", "status", "callConnectionId"],
    "properties": {
        "id": {"type": "string"},
        "roomId": {"type": "string"},
        "phoneNumber": {"type": "string"},
        "callerId": {"type": "string"},
        "status": {"enum": [status.value for status in DialOutStatus]},
        "callConnectionId": {"type": "string"},
        "participantRawId": {"type": ["string", "null"]},
        "ringTimeoutSeconds": {"type": ["integer", "null"]},
        "confirmWithDtmf": {"type": "boolean"},
        "announcement": nullable(PROMPT_SCHEMA),
        "cancelRequested": {"type": "boolean"},
        "createdAt": {"type": "string", "format": "date-time"},
        "updatedAt": {"type": "string", "format": "date-time"},
        "result": {
            "type": "object",
            "description": "Why it failed or was declined; ACS's result code and subcode when ACS gave them",
            "properties": {
                "code": {"type": ["integer", "null"]},
                "subCode": {"type": ["integer", "null"]},
                "message": {"type": ["string", "null"]},
            },
        },
    },
}
DIALOUT_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
LOCATION = {"Location": {"schema": {"type": "string"}, "description": "/api/dialouts/{id}"}}


def openapi_paths(*, caller_id_default: bool) -> dict[str, Any]:
    """The document of these routes; without ROOMBOT_PSTN_CALLER_ID a request must name its callerId."""
    if caller_id_default:
        return OPENAPI_PATHS
    required = {**REQUEST_SCHEMA, "required": ["phoneNumber", "callerId"]}
    required["properties"] = {**REQUEST_SCHEMA["properties"], "callerId": E164}
    post = OPENAPI_PATHS[CREATE_PATH]["post"]
    body = {**post["requestBody"], "content": {"application/json": {"schema": required}}}
    return {**OPENAPI_PATHS, CREATE_PATH: {"post": {**post, "requestBody": body}}}


CREATE_PATH = "/api/rooms/{roomId}/dialouts"
ITEM_LINKS = links("/api/dialouts/{id}", "id", "/id", "get", "delete")
CANCEL: dict[str, Any] = {
    "summary": "Cancel a pending or ringing dial-out; it becomes cancelled once ACS confirms",
    "security": BACKEND,
    "parameters": [DIALOUT_ID],
    "responses": {
        "202": json_response("Cancelling (or cancelled)", DIALOUT_SCHEMA),
        **problem_responses(401, 403, 404, 409, 503),
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    CREATE_PATH: {
        "post": {
            "summary": "Ring a phone into the room's call (e.g. an interpreter), exactly once per key",
            "security": BACKEND,
            "parameters": [
                ROOM_ID,
                {
                    "name": IDEMPOTENCY_KEY,
                    "in": "header",
                    "required": True,
                    "schema": {
                        "type": "string",
                        "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH,
                        "pattern": IDEMPOTENCY_KEY_PATTERN,
                    },
                },
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": REQUEST_SCHEMA}}},
            "responses": {
                "202": {
                    **json_response("Dial-out started", DIALOUT_SCHEMA),
                    "headers": LOCATION,
                    **ITEM_LINKS,
                },
                "200": {
                    **json_response("A repeat of the same key and body: the first dial-out", DIALOUT_SCHEMA),
                    "headers": LOCATION,
                    **ITEM_LINKS,
                },
                **problem_responses(400, 401, 403, 404, 409, 415, 422, 503),
            },
        }
    },
    "/api/dialouts/{id}": {
        "get": {
            "summary": "A dial-out and its status",
            "security": BACKEND,
            "parameters": [DIALOUT_ID],
            "responses": {
                "200": json_response("The dial-out", DIALOUT_SCHEMA),
                **problem_responses(401, 403, 404),
            },
        },
        "delete": CANCEL,
    },
    "/ops/dialouts/{id}": {
        "delete": {**CANCEL, "summary": "An operator cancels a ringing dial-out", "security": OPS}
    },
}
