"""Which call and recording a recording file event is about, from its subject."""

from __future__ import annotations

import pytest

from handlers.recording.model import CallRecording, Status
from handlers.recording.service import file_subject, named_recording

# A live serverCallId (Azure/azure-sdk-assets, .NET Call Automation tests): standard base64,
# a "/" inside and "=" padding at the end.
LIVE_ID = (
    "aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHkuc2t5cGUuY29tL2FwaS92Mi9jcC9jb252LXVzd2UtMDEtc2RmLWFrcy5jb252LnNreXBl"
    "LmNvbS9jb252L1ZneGxEMjh3ZlVLT0o4TXlMdHhxNHc/aT0xMC0xMjgtNi00NiZlPTYzODg4ODk0MTU5NTkyNDI3NA=="
)
CALL = "/recording/call/6f2a0a1c-0000-4000-8000-000000000001"


@pytest.mark.parametrize("server_call_id", [LIVE_ID, "aGVsbG8+d29ybGQ=", "plain"])
def test_the_whole_server_call_id_is_read_from_the_subject(server_call_id: str) -> None:
    assert file_subject(f"{CALL}/serverCallId/{server_call_id}") == (server_call_id, None)


@pytest.mark.parametrize("server_call_id", [LIVE_ID, "plain"])
def test_a_subject_may_name_the_recording_after_the_call(server_call_id: str) -> None:
    recording_id = "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIwMDAwIn0"

    subject = f"{CALL}/serverCallId/{server_call_id}/recordingId/{recording_id}"

    assert file_subject(subject) == (server_call_id, recording_id)


@pytest.mark.parametrize(
    "subject", ["", "/recording/call/x", "/serverCallId/abc", "/recording/call/x/serverCallId/"]
)
def test_a_subject_without_a_server_call_id_names_none(subject: str) -> None:
    assert file_subject(subject) == (None, None)


def recording(call_id: str, server_call_id: str, recording_id: str | None) -> CallRecording:
    return CallRecording(
        call_connection_id=call_id,
        room_id="99426852575399341",
        server_call_id=server_call_id,
        status=Status.STOPPED,
        recording_id=recording_id,
    )


def test_the_recording_the_subject_names_wins_over_another_of_the_same_call() -> None:
    earlier, later = recording("c-1", LIVE_ID, "rec-1"), recording("c-2", LIVE_ID, "rec-2")

    assert named_recording([later, earlier], LIVE_ID, "rec-1") is earlier


def test_a_subject_naming_only_the_call_finds_its_started_recording() -> None:
    never_started, started = recording("c-1", LIVE_ID, None), recording("c-2", LIVE_ID, "rec-2")

    assert named_recording([never_started, started], LIVE_ID, None) is started
    assert named_recording([never_started, started], "another-call", None) is None
