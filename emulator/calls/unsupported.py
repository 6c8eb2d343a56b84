"""The Call Automation operations the emulator does not run: each answers 501
``NotSupportedByEmulator`` naming the operation, so that a client tells "the emulator cannot"
from "the call is not there" (a bare 404 reads as ``ResourceNotFoundError`` in the SDKs).

The paths are those of the REST spec (Call Automation 2026-03-12). An operation on a call
connection first checks the connection: an unknown one is still 404/8522.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from emulator.calls.routes import BASE, CONNECTION
from emulator.keys import CALLS
from emulator.protocol.errors import not_supported

# Operation (the REST spec's operation name, as the SDKs' methods call it) -> path.
WITHOUT_CONNECTION = {
    "createCall": BASE,
    "answerCall": f"{BASE}:answer",
    "redirectCall": f"{BASE}:redirect",
    "rejectCall": f"{BASE}:reject",
}
ON_CONNECTION = {
    "transferToParticipant": f"{BASE}/{CONNECTION}:transferToParticipant",
    "moveParticipants": f"{BASE}/{CONNECTION}/participants:moveHere",
    "startTranscription": f"{BASE}/{CONNECTION}:startTranscription",
    "stopTranscription": f"{BASE}/{CONNECTION}:stopTranscription",
    "updateTranscription": f"{BASE}/{CONNECTION}:updateTranscription",
    "startMediaStreaming": f"{BASE}/{CONNECTION}:startMediaStreaming",
    "stopMediaStreaming": f"{BASE}/{CONNECTION}:stopMediaStreaming",
    "summarizeCall": f"{BASE}/{CONNECTION}:summarizeCall",
}


def _handler(operation: str, *, on_connection: bool) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        if on_connection:
            request.app[CALLS].connection(request.match_info["call_connection_id"])
        raise not_supported(operation)

    return handler


def operations() -> list[str]:
    """Every operation answered 501, for the docs and the tests."""
    return [*WITHOUT_CONNECTION, *ON_CONNECTION]


def setup(app: web.Application) -> None:
    for operation, path in WITHOUT_CONNECTION.items():
        app.router.add_post(path, _handler(operation, on_connection=False))
    for operation, path in ON_CONNECTION.items():
        app.router.add_post(path, _handler(operation, on_connection=True))
