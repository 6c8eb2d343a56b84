"""``:hold`` and ``:unhold`` on a call connection.

- hold ``{targetParticipant, playSourceInfo?, operationContext?, operationCallbackUri?}`` → 200;
  the participant's ``isOnHold`` turns true and every connection gets ParticipantsUpdated.
- unhold ``{targetParticipant, operationContext?, operationCallbackUri?}`` → 200; ``isOnHold``
  turns false, ParticipantsUpdated again.
- Music on hold (``playSourceInfo``) that cannot play: the hold still answers 200 and the
  participant goes on hold (ParticipantsUpdated), then the file is fetched as a play would fetch
  it and, when it cannot play, HoldFailed comes with the play's result (400/8535 bad file format,
  400/8536 download failed) and the participant is taken off hold (ParticipantsUpdated again),
  as the real service does with an unplayable file (``HoldFailed`` is the event of the REST
  spec's ``CallMedia_Hold`` operation; its codes are those of the "Play action" how-to).

Assumptions where ACS's documentation is silent (the real service wins if it differs):
- Holding a participant already on hold (or unholding one who is not) answers 200 and changes
  nothing, so no ParticipantsUpdated follows; a participant not in the call is 404/8522.
- Music that can play is not logged as a media operation: the media engine's operations go on
  untouched. Text and SSML music is not checked further.
"""

from __future__ import annotations

from aiohttp import web

from emulator.calls.events import Result
from emulator.calls.media.ops import event_data
from emulator.calls.media.sources import PlaySource, SourceError, parse_sources
from emulator.calls.model import CallConnection, CallParticipant, RoomCall
from emulator.calls.participant_routes import callback_override, raw_id_of
from emulator.calls.routes import BASE, CONNECTION, _json_object, _optional_str
from emulator.keys import CALLS, MEDIA
from emulator.protocol.errors import AcsError


async def _set_hold(request: web.Request, *, on_hold: bool) -> web.Response:
    body = await _json_object(request)
    service = request.app[CALLS]
    connection = service.connection(request.match_info["call_connection_id"])
    call = service.call_of(connection)
    raw_id = raw_id_of(body.get("targetParticipant"), "targetParticipant")
    operation_context = _optional_str(body, "operationContext")
    callback_uri = callback_override(body)
    music: list[PlaySource] = []
    if on_hold and body.get("playSourceInfo") is not None:
        music = parse_sources([body["playSourceInfo"]], "playSourceInfo")
    participant = call.participants.get(raw_id)
    if participant is None:
        raise AcsError(404, "8522", "Participant not found in the call.")
    if participant.is_on_hold != on_hold:
        participant.is_on_hold = on_hold
        service.participants_changed(call)
        if music and music[0].kind == "file":
            hold = HoldMusic(request.app, connection, call, participant, operation_context, callback_uri)
            request.app[MEDIA].spawn(hold.check(music[0]))
    return web.Response(status=200)


class HoldMusic:
    """Fetches a hold's music file; one that cannot play fails the hold (see the module doc)."""

    def __init__(
        self,
        app: web.Application,
        connection: CallConnection,
        call: RoomCall,
        participant: CallParticipant,
        operation_context: str | None,
        callback_uri: str | None,
    ) -> None:
        self._app = app
        self._connection = connection
        self._call = call
        self._participant = participant
        self._operation_context = operation_context
        self._callback_uri = callback_uri

    async def check(self, source: PlaySource) -> None:
        try:
            await self._app[MEDIA].player.seconds(source)
        except SourceError as exc:
            self._failed(Result(400, exc.sub_code, exc.message))

    def _failed(self, result: Result) -> None:
        call, participant = self._call, self._participant
        # The participant may have left, or been taken off hold, while the file was fetched.
        if call.state != "connected" or call.participants.get(participant.raw_id) is not participant:
            return
        service = self._app[CALLS]
        data = event_data(self._connection, self._operation_context, result)
        service.notify(self._connection, "HoldFailed", data, callback_uri=self._callback_uri)
        if participant.is_on_hold:
            participant.is_on_hold = False
            service.participants_changed(call)


async def hold(request: web.Request) -> web.Response:
    return await _set_hold(request, on_hold=True)


async def unhold(request: web.Request) -> web.Response:
    return await _set_hold(request, on_hold=False)


def setup(app: web.Application) -> None:
    app.router.add_post(f"{BASE}/{CONNECTION}:hold", hold)
    app.router.add_post(f"{BASE}/{CONNECTION}:unhold", unhold)
