"""``:hold`` and ``:unhold`` on a call connection, and the 501 of the operations the emulator
does not run (transcription, media streaming).

- hold ``{targetParticipant, playSourceInfo?, operationContext?, operationCallbackUri?}`` → 200;
  the participant's ``isOnHold`` turns true and every connection gets ParticipantsUpdated.
- unhold ``{targetParticipant, operationContext?, operationCallbackUri?}`` → 200; ``isOnHold``
  turns false, ParticipantsUpdated again.
- ``:startTranscription``, ``:stopTranscription``, ``:updateTranscription``,
  ``:startMediaStreaming``, ``:stopMediaStreaming`` → 501 ``NotSupportedByEmulator`` naming the
  operation, so that a client tells "the emulator cannot" from "the call is not there".

Assumptions where ACS's documentation is silent (the real service wins if it differs):
- Holding a participant already on hold (or unholding one who is not) answers 200 and changes
  nothing, so no ParticipantsUpdated follows; a participant not in the call is 404/8522.
- ``playSourceInfo`` (music on hold) is checked like a play source but nothing is played, so
  HoldFailed never comes; the media engine's operations go on untouched.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from emulator.calls.media.sources import parse_sources
from emulator.calls.participant_routes import callback_override, raw_id_of
from emulator.calls.routes import BASE, CONNECTION, _json_object, _optional_str
from emulator.keys import CALLS
from emulator.protocol.errors import AcsError

UNSUPPORTED = (
    "startTranscription",
    "stopTranscription",
    "updateTranscription",
    "startMediaStreaming",
    "stopMediaStreaming",
)


async def _set_hold(request: web.Request, *, on_hold: bool) -> web.Response:
    body = await _json_object(request)
    service = request.app[CALLS]
    call = service.call_of(service.connection(request.match_info["call_connection_id"]))
    raw_id = raw_id_of(body.get("targetParticipant"), "targetParticipant")
    _optional_str(body, "operationContext")
    callback_override(body)
    if on_hold and body.get("playSourceInfo") is not None:
        parse_sources([body["playSourceInfo"]], "playSourceInfo")
    participant = call.participants.get(raw_id)
    if participant is None:
        raise AcsError(404, "8522", "Participant not found in the call.")
    if participant.is_on_hold != on_hold:
        participant.is_on_hold = on_hold
        service.participants_changed(call)
    return web.Response(status=200)


async def hold(request: web.Request) -> web.Response:
    return await _set_hold(request, on_hold=True)


async def unhold(request: web.Request) -> web.Response:
    return await _set_hold(request, on_hold=False)


def _not_supported(operation: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        # Only a known connection gets this answer: an unknown one is still 404/8522.
        request.app[CALLS].connection(request.match_info["call_connection_id"])
        raise AcsError(
            501,
            "NotSupportedByEmulator",
            f"The emulator does not support {operation}; run it against a real ACS resource.",
        )

    return handler


def setup(app: web.Application) -> None:
    app.router.add_post(f"{BASE}/{CONNECTION}:hold", hold)
    app.router.add_post(f"{BASE}/{CONNECTION}:unhold", unhold)
    for operation in UNSUPPORTED:
        app.router.add_post(f"{BASE}/{CONNECTION}:{operation}", _not_supported(operation))
