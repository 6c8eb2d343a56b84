"""The component schemas of the OpenAPI document (`bot.routes.openapi`): the shapes the core
routes answer with, referred to by ``$ref``."""

from __future__ import annotations

from typing import Any

from bot.connect import MAX_WAIT_FOR_CALL_SECONDS

STRING = {"type": "string"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
CALL = {"$ref": "#/components/schemas/Call"}

PARTICIPANT = {
    "type": "object",
    "properties": {
        "rawId": {"type": "string"},
        "kind": {"type": "string"},
        "role": {"type": ["string", "null"], "description": "Room role; null off the roster (phones)"},
        "isMuted": {"type": "boolean"},
        "isOnHold": {"type": "boolean"},
    },
}
TIMELINE_ITEM = {
    "type": "object",
    "properties": {
        "lane": {"type": "string", "description": "call, participants, events, announcements, menus, ..."},
        "id": STRING,
        "label": STRING,
        "start": {"type": "string", "format": "date-time"},
        "end": NULLABLE_TIME,
        "status": {"type": ["string", "null"]},
        "detail": STRING,
        "point": {"type": "boolean"},
        "audience": {"oneOf": [{"const": "everyone"}, {"type": "array", "items": STRING}, {"type": "null"}]},
        "segments": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"status": STRING, "start": STRING, "end": NULLABLE_TIME},
            },
        },
        "marks": {
            "type": "array",
            "items": {"type": "object", "properties": {"at": STRING, "label": STRING}},
        },
        "actions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"label": STRING, "method": STRING, "path": STRING, "confirm": STRING},
            },
        },
    },
}
SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
        },
    },
    "Received": {
        "type": "object",
        "properties": {"received": {"type": "integer"}, "accepted": {"type": "integer"}},
    },
    "ConnectOptions": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "waitForCallSeconds": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_WAIT_FOR_CALL_SECONDS,
                "description": "When nobody has joined yet, keep connecting for this long (0: do not wait).",
            }
        },
    },
    "Connection": {
        "type": "object",
        "required": ["roomId", "callConnectionId", "serverCallId", "status"],
        "properties": {
            "roomId": {"type": "string"},
            "callConnectionId": {"type": ["string", "null"]},
            "serverCallId": {"type": ["string", "null"]},
            "status": {
                "type": "string",
                "enum": ["connecting", "connected", "disconnected", "failed", "waiting"],
            },
            "waitUntil": {"type": "string", "format": "date-time"},
        },
    },
    "Call": {
        "type": "object",
        "properties": {
            "roomId": {"type": "string"},
            "callConnectionId": {"type": "string"},
            "serverCallId": {"type": ["string", "null"]},
            "state": {"type": "string"},
            "participants": {"type": "array", "items": PARTICIPANT},
            "startedAt": {"type": "string", "format": "date-time"},
            "endedAt": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "CallDetail": {
        "allOf": [
            CALL,
            {"type": "object", "properties": {"events": {"type": "array", "items": {"type": "object"}}}},
        ]
    },
    "Timeline": {
        "type": "object",
        "properties": {
            "call": CALL,
            "now": {"type": "string", "format": "date-time"},
            "items": {"type": "array", "items": TIMELINE_ITEM},
            "unavailable": {"type": "array", "items": STRING, "description": "Handlers that failed to draw"},
        },
    },
    "Ending": {
        "type": "object",
        "properties": {
            "roomId": {"type": "string"},
            "callConnectionId": {"type": "string"},
            "status": {"const": "ending"},
        },
    },
}
