"""Call Automation REST routes: connect, call connection properties, participants, terminate,
hang up. Shapes and status codes follow api-version 2026-03-12 (older versions answer alike).

Setting this module up also sets up what calls need: callback delivery and Event Grid.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast, get_args

from aiohttp import web

from emulator.calls import wire
from emulator.calls.model import CallLocator, LocatorKind
from emulator.calls.service import CallService
from emulator.keys import CALLBACKS, CALLS, CLOCK, EVENT_GRID, ROOMS
from emulator.protocol.errors import AcsError, invalid, not_supported
from emulator.protocol.versions import normalize_version
from emulator.urls import is_http_url

# Path segments: a call connection id never holds ':' (actions follow one), a raw id may.
CONNECTION = "{call_connection_id:[^/:]+}"
RAW_ID = "{raw_id:[^/]+}"
BASE = "/calling/callConnections"
DEFAULT_PAGE_SIZE = 100
LOCATOR_ID_FIELDS: dict[str, str] = {
    "roomCallLocator": "roomId",
    "serverCallLocator": "serverCallId",
    "groupCallLocator": "groupCallId",
}


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise invalid("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return cast(dict[str, Any], body)


def _callback_uri(body: dict[str, Any]) -> str:
    # ACS demands https; the emulator also takes http so that local receivers need no TLS.
    value = body.get("callbackUri")
    if not is_http_url(value):
        raise invalid("The field CallbackUri is invalid.", target="callbackUri")
    return cast(str, value)


def _locator(body: dict[str, Any]) -> CallLocator:
    value = body.get("callLocator")
    if not isinstance(value, dict):
        raise invalid("The field CallLocator is required.", target="callLocator")
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in get_args(LocatorKind):
        raise invalid(f"Unknown call locator kind {kind!r}.", target="callLocator.kind")
    field = LOCATOR_ID_FIELDS[kind]
    locator_id = value.get(field)
    if not isinstance(locator_id, str) or not locator_id.strip():
        raise invalid(f"The field {field} is required for a {kind}.", target=f"callLocator.{field}")
    return CallLocator(cast(LocatorKind, kind), locator_id)


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(f"The field {name} must be a string.", target=name)
    return value


def _cognitive_services_endpoint(body: dict[str, Any]) -> str | None:
    """``callIntelligenceOptions.cognitiveServicesEndpoint``: the Azure AI services resource that
    speaks the connection's text and SSML prompts. The emulator links any URL to its resource.

    Assumption: an empty string names no resource, as if the field were left out (Microsoft's
    JavaScript Rooms quickstart, ``callautomation-connect-rooms-quickstart``, ships its ``.env``
    with ``COGNITIVE_SERVICES_ENDPOINT=""`` and plays no text): the connect succeeds, and a text
    prompt later gets the 405/8522 of a connection without one."""
    options = body.get("callIntelligenceOptions")
    if options is None:
        return None
    if not isinstance(options, dict):
        raise invalid("The field CallIntelligenceOptions is invalid.", target="callIntelligenceOptions")
    endpoint = options.get("cognitiveServicesEndpoint")
    if endpoint == "":
        return None
    if endpoint is not None and not is_http_url(endpoint):
        raise invalid(
            "The field CognitiveServicesEndpoint is invalid.",
            target="callIntelligenceOptions.cognitiveServicesEndpoint",
        )
    return cast(str | None, endpoint)


def _service(request: web.Request) -> CallService:
    return request.app[CALLS]


# Options of a connect that would start a service the emulator does not run: (body field, the
# field that starts it). With it false, the option only configures.
_STARTED_AT_CONNECT = (
    ("transcriptionOptions", "startTranscription"),
    ("mediaStreamingOptions", "startMediaStreaming"),
)


def _refuse_started_services(body: dict[str, Any]) -> None:
    """A connect asking for live transcription or media streaming from the start answers 501
    naming the option: the emulator has neither, and a call that connects without them would
    leave the client waiting for Transcription* or MediaStreaming* events that never come."""
    for field, start in _STARTED_AT_CONNECT:
        options = body.get(field)
        if isinstance(options, dict) and options.get(start) is True:
            raise not_supported(f"{field}.{start}")


async def connect(request: web.Request) -> web.Response:
    body = await _json_object(request)
    _refuse_started_services(body)
    connection = _service(request).connect(
        _locator(body),
        _callback_uri(body),
        _optional_str(body, "operationContext"),
        _cognitive_services_endpoint(body),
        api_version=normalize_version(request.query["api-version"]),
    )
    return web.json_response(wire.connection_properties(connection, connect_answer=True), status=200)


async def get_call(request: web.Request) -> web.Response:
    connection = _service(request).connection(request.match_info["call_connection_id"])
    return web.json_response(wire.connection_properties(connection))


async def hang_up(request: web.Request) -> web.Response:
    _service(request).hang_up(request.match_info["call_connection_id"])
    return web.Response(status=204)


async def terminate(request: web.Request) -> web.Response:
    _service(request).terminate(request.match_info["call_connection_id"])
    return web.Response(status=204)


def _paging(request: web.Request) -> tuple[int, int]:
    # `skip` is what nextLink carries; `maxPageSize` is an emulator extension (a client may pass
    # it as a query parameter) so that paging can be seen without a hundred participants.
    try:
        skip = int(request.query.get("skip", "0"))
        size = int(request.query.get("maxPageSize", str(DEFAULT_PAGE_SIZE)))
    except ValueError:
        raise invalid("skip and maxPageSize must be integers.") from None
    if skip < 0 or not 1 <= size <= DEFAULT_PAGE_SIZE:
        raise invalid(f"skip must be >= 0 and maxPageSize between 1 and {DEFAULT_PAGE_SIZE}.")
    return skip, size


async def list_participants(request: web.Request) -> web.Response:
    service = _service(request)
    call = service.readable_call_of(service.connection(request.match_info["call_connection_id"]))
    skip, size = _paging(request)
    everyone = list(call.participants.values())
    page = everyone[skip : skip + size]
    body: dict[str, Any] = {"value": [wire.participant(p) for p in page]}
    if skip + size < len(everyone):
        query = {"skip": str(skip + size), "maxPageSize": str(size)}
        body["nextLink"] = str(request.url.with_query(query))
    return web.json_response(body)


async def get_participant(request: web.Request) -> web.Response:
    service = _service(request)
    call = service.readable_call_of(service.connection(request.match_info["call_connection_id"]))
    participant = call.participants.get(request.match_info["raw_id"])
    if participant is None:
        raise AcsError(404, "8522", "Participant not found.")
    return web.json_response(wire.participant(participant))


def setup(app: web.Application) -> None:
    service = CallService(
        rooms=app[ROOMS], clock=app[CLOCK], callbacks=app[CALLBACKS], eventgrid=app[EVENT_GRID]
    )
    app[CALLS] = service

    async def background_tasks(app: web.Application) -> AsyncIterator[None]:
        yield
        await service.close()

    # Registered after the delivery contexts, so it is torn down before them.
    app.cleanup_ctx.append(background_tasks)
    app.router.add_post(f"{BASE}:connect", connect)
    app.router.add_get(f"{BASE}/{CONNECTION}", get_call)
    app.router.add_delete(f"{BASE}/{CONNECTION}", hang_up)
    app.router.add_post(f"{BASE}/{CONNECTION}:terminate", terminate)
    app.router.add_get(f"{BASE}/{CONNECTION}/participants", list_participants)
    app.router.add_get(f"{BASE}/{CONNECTION}/participants/{RAW_ID}", get_participant)
