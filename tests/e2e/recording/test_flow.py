"""The ``recording`` handler end to end: consent played before anything is recorded, pause and
resume, the recording ending with the call, the file's locations posted once and downloaded."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import event_types
from tests.e2e.recording.support import CONSENT, recording_bed

START = "/calling/recordings"


def consent_plays(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["path"].endswith(":play")]


async def test_a_room_switched_on_hears_the_consent_then_is_recorded_and_its_file_posted_once(
    tmp_path: Path,
) -> None:
    async with recording_bed(handler_config={"download_dir": str(tmp_path)}) as bed:
        room = await bed.room()
        switched = await bed.api("POST", f"/api/rooms/{room.id}/recording/start")
        assert switched.status == 202, switched.text
        assert (switched.body["enabled"], switched.body["recording"]) == (True, None)

        call = await bed.roombot.connect(room.id)
        call_id = call["callConnectionId"]
        active = await bed.wait_recording(call_id, "active")

        # The consent played to everyone, to its end, before ACS was asked to record.
        requests = await bed.emulator_requests()
        (play,) = consent_plays(requests)
        assert play["body"]["playSources"][0]["text"]["text"] == CONSENT
        assert play["body"]["playTo"] == []
        starts = [r for r in requests if r["path"] == START]
        assert len(starts) == 1
        assert requests.index(play) < requests.index(starts[0])
        history = event_types(await bed.roombot.call(call_id) or {})
        assert history.index("PlayCompleted") < history.index("RecordingStateChanged")
        assert active["consentPlayedAt"] <= active["startedAt"]
        state = await bed.api("GET", f"/api/rooms/{room.id}/recording")
        assert (state.body["enabled"], state.body["recording"]["status"]) == (True, "active")

        paused = await bed.api("POST", f"/api/rooms/{room.id}/recording/pause")
        assert (paused.status, paused.body["recording"]["status"]) == (202, "paused")
        resumed = await bed.api("POST", f"/ops/calls/{call_id}/recording/resume")
        assert (resumed.status, resumed.body["status"]) == (202, "active")

        ended = await bed.api("POST", f"/ops/calls/{call_id}/end")
        assert ended.status == 202, ended.text
        posted = await bed.file_ready(call_id)

    assert posted["roomId"] == room.id
    assert posted["recordingId"] == active["recordingId"]
    assert posted["sessionEndReason"] == "CallEnded"
    (file,) = posted["files"]
    assert file["contentLocation"].startswith(bed.roombot.emulator.url)
    saved = Path(file["downloadedTo"])
    assert saved.parent == tmp_path
    with wave.open(io.BytesIO(await asyncio.to_thread(saved.read_bytes))) as audio:
        assert (audio.getnchannels(), audio.getframerate()) == (1, 16000)
        seconds = audio.getnframes() / audio.getframerate()
    assert seconds == pytest.approx(posted["durationMs"] / 1000, abs=0.001)


async def test_the_file_is_posted_once_even_when_event_grid_delivers_it_again() -> None:
    async with recording_bed(handler_config={"record_every_call": True}) as bed:
        room = await bed.room()
        call = await bed.roombot.connect(room.id)
        call_id = call["callConnectionId"]
        await bed.wait_recording(call_id, "active")
        await bed.roombot.leave(room.id, room.members[0])
        posted = await bed.file_ready(call_id)
        recording = await bed.wait_recording(call_id, "stopped")

        # The same file event once more, as an Event Grid retry would bring it.
        again = [
            {
                "id": "a-repeated-delivery",
                "eventType": "Microsoft.Communication.RecordingFileStatusUpdated",
                "subject": f"/recording/call/x/serverCallId/{recording['serverCallId']}",
                "data": {
                    "recordingStorageInfo": {"recordingChunks": posted["files"]},
                    "recordingDurationMs": 1,
                },
                "eventTime": "2026-01-01T00:00:00Z",
                "dataVersion": "1.0",
            }
        ]
        reply = await bed.roombot.request("POST", "/api/eventgrid", json=again)
        assert reply.status == 200, reply.text
        await bed.roombot.settle(call_id)

        assert len(bed.notifications("recording.fileReady")) == 1
        assert recording["fileNotified"] is True
        assert recording["files"] == posted["files"]


async def test_the_recording_stops_when_the_call_ends_and_stop_through_the_api_switches_the_room_off() -> (
    None
):
    async with recording_bed() as bed:
        room = await bed.room()
        await bed.api("POST", f"/api/rooms/{room.id}/recording/start")
        first = (await bed.roombot.connect(room.id))["callConnectionId"]
        await bed.wait_recording(first, "active")

        stopped = await bed.api("POST", f"/api/rooms/{room.id}/recording/stop")
        assert (stopped.status, stopped.body["enabled"], stopped.body["recording"]["status"]) == (
            202,
            False,
            "stopped",
        )
        posted = await bed.file_ready(first)
        assert posted["sessionEndReason"] == "StopRequested"
        await bed.api("POST", f"/ops/calls/{first}/end")
        await bed.roombot.wait_for_calls(lambda calls: not calls)

        # The next call of the room is not recorded: the room is off.
        await bed.roombot.join(room.id, room.members[0])
        second = (await bed.roombot.connect(room.id))["callConnectionId"]
        await bed.roombot.settle(second)
        assert await bed.recording(second) is None


async def test_without_a_live_call_or_a_recording_the_api_says_so() -> None:
    async with recording_bed() as bed:
        room = await bed.room(join=False)
        refused = await bed.api("POST", f"/api/rooms/{room.id}/recording/pause")
        assert refused.status == 409
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        unknown = await bed.api("GET", "/ops/calls/no-such-call/recording")
        assert unknown.status == 404
        wrong = await bed.api("POST", f"/api/rooms/{room.id}/recording/rewind")
        assert wrong.status == 404


async def test_a_consent_that_cannot_play_records_nothing(bed_files: str) -> None:
    consent = {"audioUrl": f"{bed_files}/missing.wav"}
    async with recording_bed(handler_config={"record_every_call": True, "consent": consent}) as bed:
        room = await bed.room()
        call_id = (await bed.roombot.connect(room.id))["callConnectionId"]

        failed = await bed.wait_recording(call_id, "failed")
        await bed.notify.wait_for(lambda sink: bed.notifications("recording.failed"))

        assert "consent" in failed["error"]
        assert failed["recordingId"] is None
        assert [r for r in await bed.emulator_requests() if r["path"] == START] == []


async def test_recording_state_survives_a_restart(tmp_path: Path) -> None:
    async with recording_bed(
        handler_config={"record_every_call": True}, state_url=f"sqlite:///{tmp_path / 'state.db'}"
    ) as bed:
        room = await bed.room()
        call_id = (await bed.roombot.connect(room.id))["callConnectionId"]
        before = await bed.wait_recording(call_id, "active")

        await bed.roombot.restart()

        assert await bed.recording(call_id) == before
        paused = await bed.api("POST", f"/ops/calls/{call_id}/recording/pause")
        assert (paused.status, paused.body["status"]) == (202, "paused")
        await bed.roombot.leave(room.id, room.members[0])
        posted = await bed.file_ready(call_id)
        assert posted["recordingId"] == before["recordingId"]
