"""The recording HTTP API and its OpenAPI description.

Backend key:
- ``GET /api/rooms/{roomId}/recording`` → whether the room is switched on, and the recording of
  the bot's live call in it (or null).
- ``POST /api/rooms/{roomId}/recording/start`` → switches the room on; when the bot is in the
  room's call, the consent plays and the recording starts (202). Calls the bot joins later are
  recorded too.
- ``POST /api/rooms/{roomId}/recording/{pause|resume|stop}`` → acts on the live call's recording
  (202); ``stop`` also switches the room off.

Ops key: ``GET /ops/calls/{callConnectionId}/recording`` (the call's recording: state, and once
ready the file locations) and ``POST /ops/calls/{callConnectionId}/recording/{pause|resume|stop}``.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from bot import keys
from bot.acs import AcsError
from bot.problems import ProblemError
from bot.routes.acs_errors import acs_problem
from bot.routes.openapi import BACKEND, CALL_ID, OPS, ROOM_ID, json_response, problem_responses
from bot.routes.rooms import room_id_of
from bot.state.base import CallRecord, CallState
from handlers.recording.model import CallRecording, RecordingRefused, Status

ROOM_PATH = "/api/rooms/{roomId}/recording"
ROOM_ACTION_PATH = ROOM_PATH + "/{action}"
CALL_PATH = "/ops/calls/{callConnectionId}/recording"
CALL_ACTION_PATH = CALL_PATH + "/{action}"
ACTIONS = ("pause", "resume", "stop")


class RecordingDesk(Protocol):
    """What the routes ask of the handler."""

    async def get(self, call_connection_id: str) -> CallRecording | None: ...
    async def room_enabled(self, room_id: str) -> bool: ...
    async def enable_room(self, room_id: str) -> None: ...
    async def disable_room(self, room_id: str) -> None: ...
    async def begin(self, call: CallRecord) -> CallRecording: ...
    async def act(self, call_connection_id: str, action: str) -> CallRecording: ...


def _problem(exc: RecordingRefused) -> ProblemError:
    if exc.reason == "no-call":
        return ProblemError(409, "No live call", exc.message)
    return ProblemError(409, "No recording in progress", exc.message)


async def _live_call(request: web.Request, room_id: str) -> CallRecord | None:
    return await request.app[keys.REGISTRY].live_call_for_room(room_id)


def recording_routes(desk: RecordingDesk) -> list[web.RouteDef]:
    async def room_state(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        room_id = room_id_of(request)
        call = await _live_call(request, room_id)
        recording = await desk.get(call.call_connection_id) if call is not None else None
        return web.json_response(
            {
                "roomId": room_id,
                "enabled": await desk.room_enabled(room_id),
                "recording": recording.to_doc() if recording is not None else None,
            }
        )

    async def room_action(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        room_id = room_id_of(request)
        action = request.match_info["action"]
        if action not in ("start", *ACTIONS):
            raise ProblemError(404, "Not found", f"No recording action {action!r}.")
        if action == "start":
            # Switched on first: a CallConnected handled from now on starts the recording itself.
            await desk.enable_room(room_id)
            call = await _live_call(request, room_id)
            if call is None or call.state is not CallState.CONNECTED:
                return web.json_response({"roomId": room_id, "enabled": True, "recording": None}, status=202)
            recording = await desk.begin(call)
            return web.json_response(
                {"roomId": room_id, "enabled": True, "recording": recording.to_doc()}, status=202
            )
        if action == "stop":
            await desk.disable_room(room_id)
        call = await _live_call(request, room_id)
        if call is None:
            raise ProblemError(409, "No live call", f"The bot is in no call of room {room_id}.")
        recording = await _act(desk, call.call_connection_id, action, f"room {room_id}")
        enabled = await desk.room_enabled(room_id)
        return web.json_response(
            {"roomId": room_id, "enabled": enabled, "recording": recording.to_doc()}, status=202
        )

    async def call_state(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "ops")
        call_id = request.match_info["callConnectionId"]
        recording = await desk.get(call_id)
        if recording is None:
            raise ProblemError(404, "No recording", f"Call {call_id} has no recording.")
        return web.json_response(recording.to_doc())

    async def call_action(request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "ops")
        call_id = request.match_info["callConnectionId"]
        action = request.match_info["action"]
        if action not in ACTIONS:
            raise ProblemError(404, "Not found", f"No recording action {action!r}.")
        if await desk.get(call_id) is None:
            raise ProblemError(404, "No recording", f"Call {call_id} has no recording.")
        recording = await _act(desk, call_id, action, f"call {call_id}")
        return web.json_response(recording.to_doc(), status=202)

    return [
        web.get(ROOM_PATH, room_state),
        web.post(ROOM_ACTION_PATH, room_action),
        web.get(CALL_PATH, call_state),
        web.post(CALL_ACTION_PATH, call_action),
    ]


async def _act(desk: RecordingDesk, call_connection_id: str, action: str, subject: str) -> CallRecording:
    try:
        return await desk.act(call_connection_id, action)
    except RecordingRefused as exc:
        raise _problem(exc) from None
    except AcsError as exc:
        raise acs_problem(exc, subject=subject) from None


_TIME = {"type": ["string", "null"], "format": "date-time"}
_FILE = {
    "type": "object",
    "properties": {
        "documentId": {"type": "string"},
        "index": {"type": "integer"},
        "contentLocation": {"type": "string", "format": "uri"},
        "metadataLocation": {"type": ["string", "null"]},
        "deleteLocation": {"type": ["string", "null"]},
        "downloadedTo": {"type": ["string", "null"], "description": "Where the bot saved it (download_dir)"},
    },
}
RECORDING: dict[str, Any] = {
    "type": "object",
    "required": ["callConnectionId", "roomId", "status"],
    "properties": {
        "callConnectionId": {"type": "string"},
        "roomId": {"type": "string"},
        "serverCallId": {"type": ["string", "null"]},
        "status": {"enum": [status.value for status in Status]},
        "recordingId": {"type": ["string", "null"]},
        "consentPlayedAt": _TIME,
        "startedAt": _TIME,
        "stoppedAt": _TIME,
        "durationMs": {"type": ["integer", "null"]},
        "sessionEndReason": {"type": ["string", "null"]},
        "files": {"type": "array", "items": _FILE, "description": "Once ACS reported the file ready"},
        "fileNotified": {"type": "boolean", "description": "recording.fileReady was posted to NOTIFY_URL"},
        "error": {"type": ["string", "null"]},
        "updatedAt": {"type": "string", "format": "date-time"},
    },
}
_ROOM = {
    "type": "object",
    "required": ["roomId", "enabled", "recording"],
    "properties": {
        "roomId": {"type": "string"},
        "enabled": {"type": "boolean", "description": "Calls of this room are recorded"},
        "recording": {"oneOf": [RECORDING, {"type": "null"}]},
    },
}


def _action_parameter(actions: tuple[str, ...]) -> dict[str, Any]:
    return {"name": "action", "in": "path", "required": True, "schema": {"enum": list(actions)}}


OPENAPI_PATHS: dict[str, Any] = {
    ROOM_PATH: {
        "get": {
            "summary": "Whether the room's calls are recorded, and the recording of its live call",
            "security": BACKEND,
            "parameters": [ROOM_ID],
            "responses": {
                "200": json_response("The room's recording", _ROOM),
                **problem_responses(401, 403, 404),
            },
        }
    },
    ROOM_ACTION_PATH: {
        "post": {
            "summary": "start (consent, then record; also the room's later calls), pause, resume or stop",
            "security": BACKEND,
            "parameters": [ROOM_ID, _action_parameter(("start", *ACTIONS))],
            "responses": {
                "202": json_response("Accepted", _ROOM),
                **problem_responses(401, 403, 404, 409, 503),
            },
        }
    },
    CALL_PATH: {
        "get": {
            "summary": "The call's recording: state and, once ready, the file locations",
            "security": OPS,
            "parameters": [CALL_ID],
            "responses": {
                "200": json_response("The recording", RECORDING),
                **problem_responses(401, 403, 404),
            },
        }
    },
    CALL_ACTION_PATH: {
        "post": {
            "summary": "Pause, resume or stop the call's recording",
            "security": OPS,
            "parameters": [CALL_ID, _action_parameter(ACTIONS)],
            "responses": {
                "202": json_response("Accepted", RECORDING),
                **problem_responses(401, 403, 404, 409, 503),
            },
        }
    },
}
