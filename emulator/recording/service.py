"""Recording a room call: start, pause, resume, stop, and the file once it ends.

Rules, as ACS applies them (Call Recording concept page and how-to, REST spec 2026-03-12):
- A recording is started on a running call, located by ``serverCallLocator``, ``roomCallLocator``
  or the ``callConnectionId`` of a connected connection. The answer (200) is
  ``{recordingId, recordingState: "inactive", recordingKind}``; the recording turns ``active``
  a moment later and RecordingStateChanged says so, unless ``pauseOnStart`` keeps it inactive.
- Pause and resume (202) switch the state, each with RecordingStateChanged; stop (DELETE, 204)
  ends the recording, and so does the end of the call. Paused time is not in the file.
- Once a recording ended, Event Grid gets ``Microsoft.Communication.RecordingFileStatusUpdated``
  naming its chunk: content, metadata and delete locations. The content is served there,
  HMAC-signed like every request to the resource.

Answers where the request cannot be served: no such call (or connection, or a room whose call
ended) 404/8522; a call that is already being recorded 409/8519; a connection still connecting
400/8501; an unknown or ended recording 404/8522.

Choices where ACS's documentation is silent (the real service wins if it differs):
- State events go to ``recordingStateCallbackUri``, or when there is none to the callback URI of
  the connection the recording was started through; a recording started by locator without a
  callback URI sends none. Their ``subject`` is ``calling/recordings/{recordingId}``.
- With ``pauseOnStart`` the recording sends RecordingStateChanged ``inactive`` once it exists.
- A recording that ended is forgotten by ``GET``/pause/resume/stop (404): its file remains.
- Whatever content, channel and format were asked for, the file is a 16 kHz mono WAV of the
  recorded (simulated) time, silent but for a tone wherever a prompt played (``audio.py``).
  ``sessionEndReason`` is ``CallEnded`` when the call ended, ``StopRequested`` when the app
  stopped the recording; the file event comes ``FILE_READY_SECONDS`` (simulated) after the end.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from emulator.calls import events
from emulator.calls.model import CallConnection, RoomCall
from emulator.calls.service import CallService, call_not_found, not_established
from emulator.clock import Clock
from emulator.delivery.callbacks import CallbackDispatcher
from emulator.delivery.eventgrid import EventGridPublisher
from emulator.protocol.errors import AcsError
from emulator.protocol.timestamps import service_datetime
from emulator.recording.audio import RecordedAudio, Tone
from emulator.recording.model import (
    RECORDING_KIND,
    Chunk,
    Recording,
    new_document_id,
    new_recording_id,
)

log = logging.getLogger(f"roombot.{__name__}")

# Simulated seconds between a start and the recording turning active, and between its end and
# the file being ready.
START_SECONDS = 0.5
FILE_READY_SECONDS = 2.0
# Ended recordings and files kept; older ones are forgotten so the emulator does not grow.
KEEP_ENDED = 500
FILE_EVENT = "RecordingFileStatusUpdated"


def recording_not_found(recording_id: str) -> AcsError:
    return AcsError(404, "8522", "Recording not found.", target=recording_id)


def event_time(moment: datetime) -> str:
    """ISO 8601 in UTC to the millisecond, the form the SDKs' serializers give back unchanged."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


class RecordingService:
    def __init__(
        self,
        *,
        calls: CallService,
        clock: Clock,
        callbacks: CallbackDispatcher,
        eventgrid: EventGridPublisher,
        storage_url: Callable[[], str],
    ) -> None:
        self._calls = calls
        self._clock = clock
        self._callbacks = callbacks
        self._eventgrid = eventgrid
        self._storage_url = storage_url
        self._recordings: dict[str, Recording] = {}
        self._chunks: dict[str, Chunk] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        calls.listeners.append(self)

    # The REST operations.

    def start(
        self,
        call: RoomCall,
        connection: CallConnection | None,
        *,
        state_callback_uri: str | None,
        content_type: str,
        channel_type: str,
        format_type: str,
        pause_on_start: bool,
        api_version: str | None = None,
    ) -> Recording:
        if any(r.server_call_id == call.server_call_id and not r.stopped for r in self._recordings.values()):
            raise AcsError(409, "8519", "A recording is already in progress for this call.")
        if state_callback_uri is None and connection is not None:
            state_callback_uri = connection.callback_uri
        endpoint_id = connection.id if connection is not None else str(uuid.uuid4())
        recording = Recording(
            id=new_recording_id(endpoint_id),
            server_call_id=call.server_call_id,
            room_id=call.room_id,
            correlation_id=call.correlation_id,
            call_connection_id=connection.id if connection is not None else None,
            endpoint_id=endpoint_id,
            state_callback_uri=state_callback_uri,
            content_type=content_type,
            channel_type=channel_type,
            format_type=format_type,
            created_at=self._clock.now(),
            api_version=api_version,
        )
        self._recordings[recording.id] = recording
        self._spawn(self._begin(recording, paused=pause_on_start))
        return recording

    def get(self, recording_id: str) -> Recording:
        recording = self._recordings.get(recording_id)
        if recording is None or recording.stopped:
            raise recording_not_found(recording_id)
        return recording

    def pause(self, recording_id: str) -> None:
        recording = self.get(recording_id)
        if recording.deactivate(self._clock.now()):
            self._state_changed(recording)

    def resume(self, recording_id: str) -> None:
        recording = self.get(recording_id)
        if recording.activate(self._clock.now()):
            self._state_changed(recording)

    def stop(self, recording_id: str) -> None:
        self._end(self.get(recording_id), "StopRequested")

    def chunk(self, document_id: str) -> Chunk:
        chunk = self._chunks.get(document_id)
        if chunk is None:
            raise AcsError(404, "NotFound", "The recording file was not found.", target=document_id)
        return chunk

    def delete_chunk(self, document_id: str) -> None:
        self.chunk(document_id)
        del self._chunks[document_id]

    def locate(
        self, *, call_connection_id: str | None, server_call_id: str | None, room_id: str | None
    ) -> tuple[RoomCall, CallConnection | None]:
        """The running call a start names, and the connection it came through if it did."""
        if call_connection_id is not None:
            connection = self._calls.connection(call_connection_id)
            call = self._calls.registry.call_of(connection)
            if call is None:
                raise call_not_found(call_connection_id)
            if connection.state != "connected":
                raise not_established()
            return call, connection
        if server_call_id is not None:
            found = self._calls.registry.call_by_server_id(server_call_id)
            if found is None:
                raise call_not_found(server_call_id)
            return found, None
        assert room_id is not None
        try:
            return self._calls.running_call(room_id), None
        except AcsError:
            raise call_not_found(room_id, f"No call is running in room {room_id}.") from None

    # The call service's listener: a recording ends with its call.

    def participant_left(self, call: RoomCall, raw_id: str) -> None:
        del call, raw_id

    def connection_closed(self, call: RoomCall, connection: CallConnection) -> None:
        del call, connection

    def call_ended(self, call: RoomCall) -> None:
        for recording in list(self._recordings.values()):
            if recording.server_call_id == call.server_call_id and not recording.stopped:
                self._end(recording, "CallEnded", call)

    async def drain(self) -> None:
        """Wait until every pending state change and file event has gone out."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Inside.

    async def _begin(self, recording: Recording, *, paused: bool) -> None:
        await self._clock.sleep(START_SECONDS)
        if recording.stopped:
            return
        if paused or recording.activate(self._clock.now()):
            self._state_changed(recording)

    def _state_changed(self, recording: Recording) -> None:
        uri = recording.state_callback_uri
        if uri is None:
            return
        # As recorded live (``Azure/azure-sdk-for-python``, ``tests/events/...start_recording...``):
        # source, subject and ``eventSource`` name the call and the recording, the result has an
        # empty message, and a callConnectionId is there even for a start by server call.
        source = f"calling/recordings/{recording.server_call_id}/{recording.id}/RecordingStateChanged"
        data: dict[str, Any] = {
            "eventSource": source,
            "recordingId": recording.id,
            "state": recording.state,
            "recordingKind": RECORDING_KIND,
            "resultInformation": events.Result(200, 0, "").wire(),
            "callConnectionId": recording.endpoint_id,
            "serverCallId": recording.server_call_id,
            "correlationId": recording.correlation_id,
        }
        if recording.started_at is not None:
            data["startDateTime"] = service_datetime(recording.started_at)
        event = events.cloud_event(
            recording.endpoint_id,
            "RecordingStateChanged",
            data,
            self._clock.now(),
            subject=source,
            version=recording.api_version,
        )
        self._callbacks.submit(uri, recording.id, event)

    def _end(self, recording: Recording, reason: str, call: RoomCall | None = None) -> None:
        now = self._clock.now()
        if recording.deactivate(now):
            self._state_changed(recording)
        recording.ended_at = now
        recording.session_end_reason = reason
        call = call or self._calls.registry.call_by_server_id(recording.server_call_id)
        media = list(call.media) if call is not None else []
        chunk = Chunk(
            document_id=new_document_id(),
            index=0,
            recording=recording,
            seconds=self._recorded_seconds(recording),
            tones=tuple((t.start, t.seconds) for t in self._tones(recording, media)),
            base_url=self._storage_url(),
        )
        self._chunks[chunk.document_id] = chunk
        self._forget_old()
        self._spawn(self._file_ready(chunk))

    async def _file_ready(self, chunk: Chunk) -> None:
        await self._clock.sleep(FILE_READY_SECONDS)
        recording = chunk.recording
        data = {
            "recordingStorageInfo": {"recordingChunks": [chunk.wire()]},
            "recordingStartTime": event_time(recording.started_at or recording.created_at),
            "recordingDurationMs": round(chunk.seconds * 1000),
            "recordingContentType": recording.content_type,
            "recordingChannelType": recording.channel_type,
            "recordingFormatType": recording.format_type,
            "sessionEndReason": recording.session_end_reason,
        }
        # The Event Grid docs' subject, in its newer form that names the recording too
        # (``/recording/call/{callId}/serverCallId/{serverCallId}/recordingId/{recordingId}``).
        subject = (
            f"/recording/call/{recording.correlation_id}/serverCallId/{recording.server_call_id}"
            f"/recordingId/{recording.id}"
        )
        self._eventgrid.publish(events.EVENT_PREFIX + FILE_EVENT, subject, data)

    def _recorded_seconds(self, recording: Recording) -> float:
        """Active time in simulated seconds (dates are real, durations scaled: see Clock)."""
        real = sum(((end or start) - start).total_seconds() for start, end in recording.active)
        return real / self._clock.time_scale

    def _tones(self, recording: Recording, media: list[dict[str, Any]]) -> list[Tone]:
        """Where prompts played inside the recording, in recording time (simulated seconds)."""
        scale = self._clock.time_scale
        tones: list[Tone] = []
        for entry in media:
            if not entry.get("sources") or entry.get("status") == "failed":
                continue
            began = datetime.fromisoformat(entry["requestedAt"])
            ended = datetime.fromisoformat(entry["endedAt"]) if entry.get("endedAt") else None
            played_until = began + timedelta(seconds=(entry.get("durationSeconds") or 0.0) * scale)
            if entry.get("loop"):
                until = ended or recording.ended_at or played_until
            else:
                until = min(ended, played_until) if ended is not None else played_until
            offset = 0.0
            for start, end in recording.active:
                end = end or recording.ended_at or start
                overlap_start, overlap_end = max(start, began), min(end, until)
                if overlap_start < overlap_end:
                    seconds = (overlap_end - overlap_start).total_seconds() / scale
                    tones.append(Tone(offset + (overlap_start - start).total_seconds() / scale, seconds))
                offset += (end - start).total_seconds() / scale
        return tones

    def _forget_old(self) -> None:
        ended = [r for r in self._recordings.values() if r.stopped]
        for recording in ended[: max(0, len(ended) - KEEP_ENDED)]:
            del self._recordings[recording.id]
        while len(self._chunks) > KEEP_ENDED:
            del self._chunks[next(iter(self._chunks))]

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def audio_of(chunk: Chunk) -> RecordedAudio:
    return RecordedAudio(chunk.seconds, [Tone(start, seconds) for start, seconds in chunk.tones])
