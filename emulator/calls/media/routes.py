"""Call Automation media routes (api-version 2026-03-12 paths and status codes):
``:play``, ``:recognize``, ``:cancelAllMediaOperations`` → 202; ``:startContinuousDtmfRecognition``
and ``:stopContinuousDtmfRecognition`` → 200; ``:sendDtmfTones`` → 202 ``{operationContext}``.
Also the control API's key presses, ``POST /emulator/rooms/{roomId}/participants/{rawId}:dtmf``
``{tones: "1#"}`` → 200 ``{tones: [words]}`` (dispatched from ``emulator.control``).

Text and SSML prompts (play sources and recognize prompts) need an Azure AI services resource
named when the call was set up (``callIntelligenceOptions.cognitiveServicesEndpoint`` of the
connect); file prompts do not (Microsoft Learn, "Customize voice prompts to users with Play
action" and "Integrate Azure Communication Services with Azure AI services"). On a connection
without one the emulator refuses the request at once with 405, code 8522, "Request not allowed
when Cognitive Service Configuration not set during call setup.": the message ACS answers in
that case (azure-sdk-for-js issue 27966), with the status and code that the Call Automation
troubleshooting page lists for "Missing configuration ... needs to happen when invoking the
AnswerCall API". Assumption: that page pairs 405/8522 with the missing configuration, and ACS
checks it before the operation starts rather than failing it later with PlayFailed.
"""

from __future__ import annotations

from aiohttp import web

from emulator.calls.media import requests as media_requests
from emulator.calls.media.engine import MediaEngine
from emulator.calls.media.sources import PlaySource
from emulator.calls.model import CallConnection, RoomCall
from emulator.calls.routes import BASE, CONNECTION, _json_object
from emulator.delivery.client_session import client_session_context
from emulator.keys import CALLS, CLOCK, MEDIA
from emulator.protocol.errors import AcsError


def _target(request: web.Request) -> tuple[MediaEngine, CallConnection, RoomCall]:
    service = request.app[CALLS]
    connection = service.connection(request.match_info["call_connection_id"])
    return request.app[MEDIA], connection, service.call_of(connection)


def missing_speech_configuration() -> AcsError:
    return AcsError(
        405, "8522", "Request not allowed when Cognitive Service Configuration not set during call setup."
    )


def _require_speech(connection: CallConnection, sources: list[PlaySource]) -> None:
    if connection.cognitive_services_endpoint is None and any(s.kind != "file" for s in sources):
        raise missing_speech_configuration()


async def play(request: web.Request) -> web.Response:
    engine, connection, call = _target(request)
    body = media_requests.parse_play(await _json_object(request))
    _require_speech(connection, body.sources)
    engine.play(connection, call, body)
    return web.Response(status=202)


async def recognize(request: web.Request) -> web.Response:
    engine, connection, call = _target(request)
    body = media_requests.parse_recognize(await _json_object(request))
    _require_speech(connection, body.prompts)
    engine.recognize(connection, call, body)
    return web.Response(status=202)


async def cancel_all(request: web.Request) -> web.Response:
    engine, _, call = _target(request)
    engine.cancel_all(call)
    return web.Response(status=202)


async def start_continuous(request: web.Request) -> web.Response:
    engine, connection, call = _target(request)
    engine.start_continuous(connection, call, media_requests.parse_continuous(await _json_object(request)))
    return web.Response(status=200)


async def stop_continuous(request: web.Request) -> web.Response:
    engine, connection, call = _target(request)
    engine.stop_continuous(connection, call, media_requests.parse_continuous(await _json_object(request)))
    return web.Response(status=200)


async def send_dtmf(request: web.Request) -> web.Response:
    engine, connection, call = _target(request)
    body = media_requests.parse_send_dtmf(await _json_object(request))
    engine.send_dtmf(connection, call, body)
    answer = {} if body.operation_context is None else {"operationContext": body.operation_context}
    return web.json_response(answer, status=202)


async def press_keys(request: web.Request) -> web.Response:
    """The control API's ``:dtmf``: 404 no room or no call, 409 not in the call, 400 bad keys."""
    room_id, raw_id = request.match_info["room_id"], request.match_info["raw_id"]
    call = request.app[CALLS].running_call(room_id)
    try:
        body = await request.json()
    except ValueError:
        raise AcsError(400, "BadRequest", "The request body is not valid JSON.") from None
    keys = body.get("tones") if isinstance(body, dict) else None
    if not isinstance(keys, str) and not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise AcsError(
            400, "BadRequest", 'tones must be keys ("1#") or a list of tone words.', target="tones"
        )
    tones = request.app[MEDIA].press_keys(call, raw_id, keys)
    return web.json_response({"tones": tones})


def setup(app: web.Application) -> None:
    engine = MediaEngine(app[CALLS], app[CLOCK])
    app[MEDIA] = engine
    # The engine closes first: its operations may still be downloading files.
    app.cleanup_ctx.append(client_session_context(engine.player, engine.close))
    for action, handler in (
        ("play", play),
        ("recognize", recognize),
        ("cancelAllMediaOperations", cancel_all),
        ("startContinuousDtmfRecognition", start_continuous),
        ("stopContinuousDtmfRecognition", stop_continuous),
        ("sendDtmfTones", send_dtmf),
    ):
        app.router.add_post(f"{BASE}/{CONNECTION}:{action}", handler)
