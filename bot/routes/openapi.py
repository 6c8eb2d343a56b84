"""`GET /openapi.json`: the OpenAPI 3.1 description of the bot's HTTP API.

Core paths are described here; each handler plugin describes the routes it adds through
``openapi_paths()``. A test checks that the document and the router list the same operations.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import keys
from bot.plugins import LoadedHandlers
from bot.routes.components import CALL, SCHEMAS, STRING
from bot.routes.paging import CURSOR_REGEX
from bot.routes.schemas import ROOM_ID_PARAMETER

routes = web.RouteTableDef()

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def problem_responses(*statuses: int) -> dict[str, Any]:
    """Response objects for error statuses, all answered as problem+json."""
    return {
        str(status): {
            "description": "Error (RFC 9457 problem details)",
            "content": {"application/problem+json": {"schema": PROBLEM}},
        }
        for status in statuses
    }


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def links(path: str, parameter: str, pointer: str, *methods: str) -> dict[str, Any]:
    """OpenAPI links from a response to the operations on ``path`` that take the id it holds at
    ``pointer`` (a JSON pointer into the body): clients, and schemathesis, follow them."""
    reference = "#/paths/" + path.replace("~", "~0").replace("/", "~1")
    return {
        "links": {
            f"{method}{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}": {
                "operationRef": f"{reference}/{method}",
                "parameters": {parameter: f"$response.body#{pointer}"},
            }
            for method in methods
        }
    }


BACKEND: list[dict[str, list[str]]] = [{"backendKey": []}]
OPS: list[dict[str, list[str]]] = [{"opsKey": []}]
ROOM_ID = ROOM_ID_PARAMETER
CALL_ID = {"name": "callConnectionId", "in": "path", "required": True, "schema": {"type": "string"}}
INTEGER = {"type": "integer"}
ENDING = json_response("The call is being ended for everyone", {"$ref": "#/components/schemas/Ending"})

CLOUD_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type", "data"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "type": {"type": "string", "minLength": 1, "description": "Microsoft.Communication.<Event>"},
        "source": {"type": "string"},
        "time": {"type": "string"},
        "data": {"type": "object", "description": "The event's fields as ACS sends them"},
    },
}
VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"
EVENTGRID_KEY: dict[str, Any] = {
    "name": "key",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
}


def _grid_event(type_field: str) -> dict[str, Any]:
    """An Event Grid event as ``/api/eventgrid`` takes it, its type in ``type_field``:
    ``eventType`` in the Event Grid schema, ``type`` in the CloudEvents schema."""
    return {
        "type": "object",
        "required": [type_field],
        "properties": {
            type_field: {"type": "string"},
            "data": {
                "anyOf": [
                    {"type": "object", "properties": {"serverCallId": {"type": ["string", "null"]}}},
                    {"type": "null"},
                ]
            },
        },
        # The validation handshake must carry the code to answer with.
        "anyOf": [
            {"properties": {type_field: {"not": {"const": VALIDATION_EVENT_TYPE}}}},
            {
                "required": ["data"],
                "properties": {
                    "data": {
                        "type": "object",
                        "required": ["validationCode"],
                        "properties": {"validationCode": {"type": "string"}},
                    }
                },
            },
        ],
    }


EVENT_GRID_EVENT = _grid_event("eventType")
EVENT_GRID_CLOUD_EVENT = _grid_event("type")
EVENT_GRID_BODY = {"oneOf": [{"type": "array", "items": EVENT_GRID_EVENT}, EVENT_GRID_EVENT]}
EVENT_GRID_CLOUD_BODY = {
    "oneOf": [{"type": "array", "items": EVENT_GRID_CLOUD_EVENT}, EVENT_GRID_CLOUD_EVENT]
}

_CALL_ID = ("callConnectionId", "/callConnectionId")
CALL_LINKS = {
    "links": {
        **links("/ops/calls/{callConnectionId}", *_CALL_ID, "get")["links"],
        **links("/ops/calls/{callConnectionId}/end", *_CALL_ID, "post")["links"],
    }
}

CORE_PATHS: dict[str, Any] = {
    "/api/callbacks": {
        "post": {
            "summary": "ACS Call Automation callbacks (array of CloudEvents, JWT-authenticated)",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "array", "items": CLOUD_EVENT}}},
            },
            "responses": {
                "200": json_response("Events accepted", {"$ref": "#/components/schemas/Received"}),
                **problem_responses(400, 401, 413, 503),
            },
        }
    },
    "/api/eventgrid": {
        "post": {
            "summary": "Event Grid webhook: validation handshake, CallStarted, CallEnded",
            "description": "Events in the Event Grid schema or in the CloudEvents 1.0 schema.",
            "parameters": [EVENTGRID_KEY],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": EVENT_GRID_BODY},
                    "application/cloudevents+json": {"schema": EVENT_GRID_CLOUD_BODY},
                    "application/cloudevents-batch+json": {"schema": EVENT_GRID_CLOUD_BODY},
                },
            },
            "responses": {"200": {"description": "Handled"}, **problem_responses(400, 401, 413)},
        },
        "options": {
            "summary": "CloudEvents webhook handshake of a subscription with the CloudEvents schema",
            "parameters": [
                EVENTGRID_KEY,
                {
                    "name": "WebHook-Request-Origin",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "pattern": r"\S"},
                },
            ],
            "responses": {
                "200": {
                    "description": "Allowed",
                    "headers": {
                        "WebHook-Allowed-Origin": {
                            "description": "The origin the request named",
                            "schema": {"type": "string"},
                        }
                    },
                },
                **problem_responses(400, 401),
            },
        },
    },
    "/api/rooms/{roomId}/connect": {
        "post": {
            "summary": "Connect the bot to the room's call",
            "description": "Answers once ACS said how the connect went: 202 connected (connecting when "
            "ACS did not say within seconds), 200 when already connected, 409 when nobody has "
            "joined the room. With waitForCallSeconds, that case is 202 waiting: the bot connects "
            "when the call starts, or gives up when the time is up (posted to NOTIFY_URL).",
            "security": BACKEND,
            "parameters": [ROOM_ID],
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConnectOptions"}}},
            },
            "responses": {
                "200": {
                    **json_response("Already connected", {"$ref": "#/components/schemas/Connection"}),
                    **CALL_LINKS,
                },
                "202": {
                    **json_response(
                        "Connected, connecting or waiting", {"$ref": "#/components/schemas/Connection"}
                    ),
                    **CALL_LINKS,
                },
                **problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 502, 503),
            },
        }
    },
    "/ops/calls": {
        "get": {
            "summary": "Live calls, oldest first, a page at a time",
            "security": OPS,
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                {
                    "name": "cursor",
                    "in": "query",
                    "description": "From a Link rel=next",
                    "schema": {"type": "string", "pattern": CURSOR_REGEX},
                },
                {
                    "name": "roomId",
                    "in": "query",
                    "description": "Room ids starting with it",
                    "schema": STRING,
                },
            ],
            "responses": {
                "200": {
                    **json_response("A page of live calls (default 100)", {"type": "array", "items": CALL}),
                    "headers": {
                        "X-Total-Count": {"description": "Calls matching, all pages", "schema": INTEGER},
                        "Link": {
                            "description": '<next page>; rel="next", when there is one',
                            "schema": STRING,
                        },
                    },
                },
                **problem_responses(400, 401, 403, 404),
            },
        }
    },
    "/ops/calls/{callConnectionId}/timeline": {
        "get": {
            "summary": "One call as the operator console draws it: items on lanes, on one time axis",
            "security": OPS,
            "parameters": [CALL_ID],
            "responses": {
                "200": json_response("The call's timeline", {"$ref": "#/components/schemas/Timeline"}),
                **problem_responses(401, 403, 404),
            },
        }
    },
    "/ops/events": {
        "get": {
            "summary": "Live feed of call changes (server-sent events: event call, data a notice)",
            "security": OPS,
            "responses": {
                "200": {
                    "description": "An event stream",
                    "content": {"text/event-stream": {"schema": STRING}},
                },
                **problem_responses(401, 403),
            },
        }
    },
    "/console": {
        "get": {
            "summary": "The operator console (sign in with an ops key in the page)",
            "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": STRING}}}},
        }
    },
    "/console/assets/{name}": {
        "get": {
            "summary": "The console's stylesheet and scripts",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": STRING}],
            "responses": {"200": {"description": "The file"}, **problem_responses(404)},
        }
    },
    "/ops/calls/{callConnectionId}": {
        "get": {
            "summary": "One call with its event history",
            "security": OPS,
            "parameters": [CALL_ID],
            "responses": {
                "200": json_response("The call", {"$ref": "#/components/schemas/CallDetail"}),
                **problem_responses(401, 403, 404),
            },
        }
    },
    "/ops/calls/{callConnectionId}/end": {
        "post": {
            "summary": "End the call for everyone",
            "security": OPS,
            "parameters": [CALL_ID],
            "responses": {"202": ENDING, **problem_responses(401, 403, 404, 409, 502, 503)},
        }
    },
    "/ops/rooms/{roomId}/end": {
        "post": {
            "summary": "End the room's live call for everyone",
            "security": OPS,
            "parameters": [ROOM_ID],
            "responses": {"202": ENDING, **problem_responses(401, 403, 404, 409, 502, 503)},
        }
    },
    "/healthz": {
        "get": {
            "summary": "Process is up; its replica id, and whether it leads the bot's replicas",
            "responses": {"200": {"description": "Up"}},
        }
    },
    "/readyz": {
        "get": {
            "summary": "State store and ACS reachable",
            "responses": {"200": {"description": "Ready"}, **problem_responses(503)},
        }
    },
    "/metrics": {
        "get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Metrics text"}}}
    },
    "/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}
    },
}


def build_document(handlers: LoadedHandlers) -> dict[str, Any]:
    paths: dict[str, Any] = {path: dict(item) for path, item in CORE_PATHS.items()}
    for handler in handlers:
        for path, item in handler.openapi_paths().items():
            paths.setdefault(path, {}).update(item)
    return {
        "openapi": "3.1.0",
        "info": {"title": "roombot", "version": "0.1.0"},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "backendKey": {"type": "http", "scheme": "bearer", "description": "A backend API key"},
                "opsKey": {"type": "http", "scheme": "bearer", "description": "An ops API key"},
            },
        },
    }


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app[keys.HANDLERS]))
