"""Which events of one Event Grid delivery the bot acts on."""

from __future__ import annotations

from typing import Any

from bot.routes.eventgrid import distinct_events

FILE = "Microsoft.Communication.RecordingFileStatusUpdated"
ENDED = "Microsoft.Communication.CallEnded"


def file_event(event_id: str, server_call_id: str) -> dict[str, Any]:
    subject = f"/recording/call/c/serverCallId/{server_call_id}"
    return {"id": event_id, "eventType": FILE, "subject": subject, "data": {"recordingStorageInfo": {}}}


def call_ended(event_id: str, room_id: str) -> dict[str, Any]:
    return {"id": event_id, "eventType": ENDED, "data": {"room": {"id": room_id}, "serverCallId": "s"}}


def test_two_recordings_files_in_one_batch_are_two_files() -> None:
    first, second = file_event("1", "call-a"), file_event("2", "call-b")

    assert distinct_events([first, second]) == [first, second]


def test_a_redelivered_event_is_acted_on_once() -> None:
    event = file_event("1", "call-a")

    assert distinct_events([event, dict(event)]) == [event]


def test_events_without_ids_stay_apart() -> None:
    first, second = file_event("", "call-a"), file_event("", "call-b")

    assert distinct_events([first, second]) == [first, second]


def test_a_flood_of_call_ended_for_one_room_is_one_action_per_room() -> None:
    flood = [call_ended(str(n), "room-1") for n in range(500)] + [call_ended("x", "room-2")]

    assert [event["data"]["room"]["id"] for event in distinct_events(flood)] == ["room-1", "room-2"]
