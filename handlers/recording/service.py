"""Recording one call: consent first, then ACS records; pause, resume, stop; the file once ready.

Everything the handler knows lives in the state store (namespace ``recording`` per call
connection, ``recording_rooms`` per room switched on), so a restarted bot carries on: a consent
that was playing is played again, a file that arrives later is still matched and posted once.

The consent prompt plays to everyone through the per-call media scheduler, tagged
``recording:consent``; the recording starts only once its PlayCompleted came. A consent that
fails, or a call that ends first, records nothing. ACS is asked to record by call connection id,
with the bot's callback URL for RecordingStateChanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.acs import AcsError
from bot.events import PlayCompleted, RecordingStateChanged
from bot.locks import KeyedLocks
from bot.media.scheduler import MediaJob
from bot.messages import EventGridNotification
from bot.services import BotServices
from bot.state.base import CallRecord
from handlers.recording.model import (
    CallRecording,
    RecordedFile,
    RecordingConfig,
    RecordingRefused,
    Status,
    utc_now,
)

logger = logging.getLogger(f"roombot.{__name__}")

CALLS = "recording"
ROOMS = "recording_rooms"
CONSENT_CONTEXT = "recording:consent"
FILE_EVENT = "Microsoft.Communication.RecordingFileStatusUpdated"
FILE_READY = "recording.fileReady"
FAILED = "recording.failed"

Spawn = Callable[[Coroutine[Any, Any, None], str], None]


def file_subject(subject: str) -> tuple[str | None, str | None]:
    """(serverCallId, recordingId) named by a file event's subject, each None when absent. The
    Event Grid docs give it as ``/recording/call/{callId}/serverCallId/{serverCallId}``, newer
    versions with ``/recordingId/{recordingId}`` after it. A serverCallId is standard base64 and
    may itself hold ``/`` (a live one from the .NET Call Automation tests in
    ``Azure/azure-sdk-assets``: ``...NHc/aT0x...``): it runs to the ``/recordingId/`` part, or to
    the end."""
    head, separator, tail = subject.partition("/serverCallId/")
    if not (separator and head and tail):
        return None, None
    server_call_id, marker, recording_id = tail.rpartition("/recordingId/")
    if not marker:
        return tail, None
    return server_call_id or None, recording_id or None


def named_recording(
    recordings: list[CallRecording], server_call_id: str | None, recording_id: str | None
) -> CallRecording | None:
    """The started recording a file event names: by its recording id, else by its call (a subject
    in the older form names only the call)."""
    started = [recording for recording in recordings if recording.recording_id]
    for recording in started:
        if recording_id and recording.recording_id == recording_id:
            return recording
    for recording in started:
        if server_call_id and recording.server_call_id == server_call_id:
            return recording
    return None


class Recorder:
    def __init__(self, config: RecordingConfig, services: BotServices, spawn: Spawn) -> None:
        self.config = config
        self._services = services
        self._spawn = spawn
        self._locks = KeyedLocks()

    # The record.

    async def get(self, call_connection_id: str) -> CallRecording | None:
        doc = await self._services.store.get_doc(CALLS, call_connection_id)
        return CallRecording.from_doc(doc) if doc is not None else None

    async def _save(self, recording: CallRecording) -> CallRecording:
        recording.updated_at = utc_now()
        await self._services.store.put_doc(CALLS, recording.call_connection_id, recording.to_doc())
        return recording

    async def _change(
        self, call_connection_id: str, change: Callable[[CallRecording], Awaitable[bool] | bool]
    ) -> CallRecording | None:
        """Apply ``change`` under the call's lock; it answers whether to save."""
        async with self._locks[call_connection_id]:
            recording = await self.get(call_connection_id)
            if recording is None:
                return None
            changed = change(recording)
            if not isinstance(changed, bool):
                changed = await changed
            return await self._save(recording) if changed else recording

    # Rooms switched on.

    async def room_enabled(self, room_id: str) -> bool:
        return await self._services.store.get_doc(ROOMS, room_id) is not None

    async def wanted(self, room_id: str) -> bool:
        return self.config.record_every_call or await self.room_enabled(room_id)

    async def enable_room(self, room_id: str) -> None:
        await self._services.store.put_doc(
            ROOMS, room_id, {"roomId": room_id, "since": utc_now().isoformat()}
        )

    async def disable_room(self, room_id: str) -> None:
        await self._services.store.delete_doc(ROOMS, room_id)

    # Starting: consent, then ACS.

    async def begin(self, call: CallRecord) -> CallRecording:
        """Record ``call`` (consent first) unless it is already being recorded."""
        async with self._locks[call.call_connection_id]:
            existing = await self.get(call.call_connection_id)
            if existing is not None and existing.live:
                return existing
            recording = CallRecording(
                call_connection_id=call.call_connection_id,
                room_id=call.room_id,
                server_call_id=call.server_call_id,
                status=Status.CONSENTING,
            )
            await self._save(recording)
        self._spawn(self.run(call.call_connection_id), f"recording:{call.call_connection_id}")
        return recording

    async def run(self, call_connection_id: str) -> None:
        """Play the consent to everyone, then ask ACS to record."""
        try:
            consent = await self._play_consent(call_connection_id)
        except Exception as exc:
            # Whatever stopped it (the call ended, ACS refused, the completion never came), the
            # reason is recorded and posted: nothing is recorded without consent.
            await self._fail(call_connection_id, f"the consent prompt could not play: {exc}")
            return
        if not isinstance(consent, PlayCompleted):
            await self._fail(call_connection_id, f"the consent prompt did not complete ({consent.type})")
            return

        def consented(recording: CallRecording) -> bool:
            if recording.status is not Status.CONSENTING:
                return False  # stopped, or the call ended, while the consent played
            recording.status = Status.STARTING
            recording.consent_played_at = utc_now()
            return True

        recording = await self._change(call_connection_id, consented)
        if (
            recording is None
            or recording.status is not Status.STARTING
            or recording.consent_played_at is None
        ):
            return
        try:
            info = await self._services.acs.recording.start(
                call_connection_id,
                state_callback_url=self._services.callback_url(),
                content_type=self.config.content_type,
                channel_type=self.config.channel_type,
                format_type=self.config.format_type,
            )
        except AcsError as exc:
            await self._fail(call_connection_id, f"ACS refused to record: {exc}")
            return

        def started(current: CallRecording) -> bool:
            current.recording_id = info.recording_id
            return True

        current = await self._change(call_connection_id, started)
        logger.info("recording call %s as %s", call_connection_id, info.recording_id)
        if current is not None and current.status is Status.STOPPED:
            # Stopped while ACS was being asked: the stop could not name the recording yet.
            await self._stop_in_acs(info.recording_id)

    async def _play_consent(self, call_connection_id: str) -> Any:
        async def play() -> None:
            await self._services.acs.media.play(
                call_connection_id, [self.config.consent], operation_context=CONSENT_CONTEXT
            )

        job = MediaJob(call_connection_id=call_connection_id, operation_context=CONSENT_CONTEXT, start=play)
        self._services.media.submit(job)
        return await asyncio.shield(job.done)

    async def _fail(self, call_connection_id: str, reason: str) -> None:
        def failed(recording: CallRecording) -> bool:
            if not recording.live:
                return False
            recording.status = Status.FAILED
            recording.error = reason
            return True

        recording = await self._change(call_connection_id, failed)
        logger.warning("recording of call %s failed: %s", call_connection_id, reason)
        if recording is not None and recording.status is Status.FAILED:
            await self._services.notifier.notify(
                FAILED, roomId=recording.room_id, callConnectionId=call_connection_id, reason=reason
            )

    # ACS's state, and the API's requests.

    async def state_changed(self, event: RecordingStateChanged) -> None:
        def apply(recording: CallRecording) -> bool:
            if recording.status in (Status.STOPPED, Status.FAILED):
                return False
            if event.recording_id and recording.recording_id not in (None, event.recording_id):
                return False
            recording.server_call_id = recording.server_call_id or event.server_call_id
            if event.state == "active":
                recording.status = Status.ACTIVE
                recording.started_at = recording.started_at or event.time or utc_now()
            elif event.state == "inactive" and recording.status is Status.ACTIVE:
                recording.status = Status.PAUSED
            else:
                return False
            return True

        await self._change(event.call_connection_id, apply)

    async def act(self, call_connection_id: str, action: str) -> CallRecording:
        """``pause``, ``resume`` or ``stop`` the call's recording."""
        recording = await self.get(call_connection_id)
        if recording is None:
            raise RecordingRefused("no-recording", f"Call {call_connection_id} has no recording.")
        if not recording.live:
            raise RecordingRefused(
                "finished", f"The recording of call {call_connection_id} is {recording.status}."
            )
        if action == "stop":
            return await self._stop(recording)
        if recording.recording_id is None or recording.status not in (Status.ACTIVE, Status.PAUSED):
            raise RecordingRefused(
                "no-recording", f"The recording of call {call_connection_id} has not started."
            )
        actions = self._services.acs.recording
        await (actions.pause if action == "pause" else actions.resume)(recording.recording_id)
        target = Status.PAUSED if action == "pause" else Status.ACTIVE

        def moved(current: CallRecording) -> bool:
            if not current.live:
                return False
            current.status = target
            return True

        return await self._change(call_connection_id, moved) or recording

    async def _stop(self, recording: CallRecording) -> CallRecording:
        def stopped(current: CallRecording) -> bool:
            if not current.live:
                return False
            current.status = Status.STOPPED
            current.stopped_at = utc_now()
            return True

        updated = await self._change(recording.call_connection_id, stopped) or recording
        if updated.recording_id is not None:
            await self._stop_in_acs(updated.recording_id)
        return updated

    async def _stop_in_acs(self, recording_id: str) -> None:
        try:
            await self._services.acs.recording.stop(recording_id)
        except AcsError as exc:
            logger.warning("stopping recording %s: %s", recording_id, exc)

    async def call_ended(self, call_connection_id: str) -> None:
        """The call ended: ACS ends its recording with it; a consent still playing records nothing."""

        def ended(recording: CallRecording) -> bool:
            if not recording.live:
                return False
            recording.status = Status.STOPPED
            recording.stopped_at = utc_now()
            recording.session_end_reason = recording.session_end_reason or "CallEnded"
            return True

        await self._change(call_connection_id, ended)

    # The file, through Event Grid.

    async def file_ready(self, notification: EventGridNotification) -> None:
        if notification.event_type != FILE_EVENT:
            return
        server_call_id, recording_id = file_subject(notification.subject)
        chunks = (notification.data.get("recordingStorageInfo") or {}).get("recordingChunks") or []
        files = [
            RecordedFile.model_validate(chunk)
            for chunk in chunks
            if isinstance(chunk, dict) and "documentId" in chunk
        ]
        docs = await self._services.store.list_docs(CALLS)
        found = named_recording([CallRecording.from_doc(doc) for doc in docs], server_call_id, recording_id)
        if found is None:
            logger.info("a recording file of call %s is none of this bot's recordings", server_call_id)
            return
        await self._deliver(found.call_connection_id, notification, files)

    async def _deliver(
        self, call_connection_id: str, notification: EventGridNotification, files: list[RecordedFile]
    ) -> None:
        async with self._locks[call_connection_id]:
            recording = await self.get(call_connection_id)
            if recording is None or recording.file_notified:
                return  # a repeated delivery: the locations were posted already
            for file in files:
                file.downloaded_to = await self._download(recording, file)
            recording.files = files
            recording.duration_ms = notification.data.get("recordingDurationMs")
            recording.session_end_reason = (
                notification.data.get("sessionEndReason") or recording.session_end_reason
            )
            if recording.live:
                recording.status = Status.STOPPED
                recording.stopped_at = utc_now()
            recording.file_notified = True
            await self._save(recording)
        await self._services.notifier.notify(
            FILE_READY,
            roomId=recording.room_id,
            callConnectionId=call_connection_id,
            serverCallId=recording.server_call_id,
            recordingId=recording.recording_id,
            durationMs=recording.duration_ms,
            sessionEndReason=recording.session_end_reason,
            files=[file.model_dump(mode="json", by_alias=True) for file in files],
        )

    async def _download(self, recording: CallRecording, file: RecordedFile) -> str | None:
        folder = self.config.download_dir
        if folder is None:
            return None
        try:
            body = await self._services.acs.recording.download(file.content_location)
        except AcsError as exc:
            logger.warning("could not download %s: %s", file.content_location, exc)
            return None
        path = Path(folder) / f"{recording.call_connection_id}-{file.index}.{self.config.format_type}"
        await asyncio.to_thread(_write, path, body)
        return str(path)

    async def prune(self) -> None:
        """Forget the records of recordings finished longer ago than ``keep_finished_days``."""
        cutoff = utc_now() - timedelta(days=self.config.keep_finished_days)
        for doc in await self._services.store.list_docs(CALLS):
            recording = CallRecording.from_doc(doc)
            if not recording.live and recording.updated_at < cutoff:
                await self._services.store.delete_doc(CALLS, recording.call_connection_id)


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
