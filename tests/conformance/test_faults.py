"""Injected faults: Call Automation answers that fail (refused, or performed and lost) and
callbacks that are duplicated, dropped, reordered or delayed, seen through the official SDK."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.communication.callautomation import PhoneNumberIdentifier
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import AsyncRetryPolicy, RetryPolicy

from emulator.keys import INVITATIONS
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    CallbackKeys,
    ClientKind,
    add_room,
    check_callbacks,
    connection_id,
    control,
    join,
    names,
    open_call_automation,
    received,
    settle,
)
from tests.conformance.conftest import rfc1123
from tests.conformance.participant_helpers import (
    CALLER_ID,
    error_of,
    invitation_of,
    invitations,
    live_call,
    participants_of,
    phone_ids,
    room_call,
    set_faults,
)
from tests.support.callback_sink import CallbackSink

NUMBER = "+14255550123"
PHONE = PhoneNumberIdentifier(NUMBER)


@pytest.fixture
async def retrying(emulator: RunningEmulator, kind: ClientKind) -> AsyncIterator[CallAutomationApi]:
    """The official client with azure-core's own retries on, without waiting between attempts."""
    policy = RetryPolicy if kind == "sync" else AsyncRetryPolicy
    async with open_call_automation(
        emulator, kind, retry_policy=policy(retry_total=3, retry_backoff_factor=0)
    ) as api:
        yield api


async def logged_adds(emulator: RunningEmulator) -> list[tuple[int, str]]:
    entries = (await control(emulator, "GET", "/emulator/requests")).body
    return [(e["status"], e["repeatabilityRequestId"]) for e in entries if e["path"].endswith(":add")]


async def one_leg(emulator: RunningEmulator, room_id: str) -> None:
    """However the add was retried, the phone rang once and is in the call once."""
    await emulator.app[INVITATIONS].drain()
    (invitation,) = await invitations(emulator, room_id)
    assert invitation["state"] == "answered"
    assert phone_ids(await room_call(emulator, room_id)) == [f"4:{NUMBER}"]


async def until_connected(calls: CallAutomationApi, call_connection_id: str) -> None:
    """Poll the connection's state: with its callbacks dropped, the app has nothing else to go by."""
    for _ in range(1000):
        props = await calls.get_call_properties(call_connection_id)
        if props.call_connection_state == "connected":
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{call_connection_id} never connected")


def first_sent() -> dict[str, str]:
    return {
        "Repeatability-Request-ID": str(uuid.uuid4()),
        "Repeatability-First-Sent": rfc1123(datetime.now(UTC)),
    }


async def test_faults_are_shown_until_deleted(emulator: RunningEmulator) -> None:
    body = {
        "callAutomation": {
            "status": 503,
            "count": 2,
            "retryAfterSeconds": 1.5,
            "mode": "loseAnswer",
            "paths": [":add"],
        },
        "callbacks": {"duplicate": 0.5, "reorder": True},
    }

    stored = await set_faults(emulator, body)

    assert stored.body == {
        "callAutomation": {
            "status": 503,
            "probability": 1.0,
            "count": 2,
            "remaining": 2,
            "retryAfterSeconds": 1.5,
            "mode": "loseAnswer",
            "paths": [":add"],
        },
        "callbacks": {"duplicate": 0.5, "reorder": True, "batch": False, "delaySeconds": 0.0, "drop": 0.0},
    }
    assert (await control(emulator, "GET", "/emulator/faults")).body == stored.body
    assert (await control(emulator, "DELETE", "/emulator/faults")).status == 204
    assert (await control(emulator, "GET", "/emulator/faults")).body == {
        "callAutomation": None,
        "callbacks": None,
    }


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"callAutomation": {"status": 200}}, "callAutomation.status"),
        ({"callAutomation": {}}, "callAutomation.status"),
        ({"callAutomation": {"status": 503, "probability": 1.5}}, "callAutomation.probability"),
        ({"callAutomation": {"status": 503, "count": 0}}, "callAutomation.count"),
        ({"callAutomation": {"status": 503, "mode": "explode"}}, "callAutomation.mode"),
        ({"callAutomation": {"status": 503, "paths": []}}, "callAutomation.paths"),
        ({"callAutomation": {"status": 503, "retryAfterSeconds": -1}}, "callAutomation.retryAfterSeconds"),
        ({"callAutomation": {"status": 503, "when": "always"}}, "callAutomation.when"),
        ({"callbacks": {"drop": "all"}}, "callbacks.drop"),
        ({"callbacks": {"reorder": 1}}, "callbacks.reorder"),
        ({"everything": True}, "body.everything"),
        ([], "body"),
    ],
)
async def test_a_bad_fault_is_refused_and_the_faults_in_force_kept(
    emulator: RunningEmulator, body: Any, target: str
) -> None:
    before = await set_faults(emulator, {"callbacks": {"drop": 0.25}})

    answer = await control(emulator, "PUT", "/emulator/faults", body)

    assert answer.status == 400
    assert answer.body["error"]["target"] == target
    assert (await control(emulator, "GET", "/emulator/faults")).body == before.body


async def test_a_refused_request_does_nothing_and_the_next_one_succeeds(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    await set_faults(
        emulator, {"callAutomation": {"status": 503, "count": 1, "retryAfterSeconds": 2, "paths": [":add"]}}
    )
    participants = participants_of(calls)

    with pytest.raises(HttpResponseError) as refused:
        await participants.add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)

    assert refused.value.status_code == 503
    assert error_of(refused.value).code == "ServiceUnavailable"
    # azure-core types the response loosely; both transports give it headers.
    response: Any = refused.value.response
    assert response.headers["Retry-After"] == "2"
    assert response.headers["retry-after-ms"] == "2000"
    assert await invitations(emulator, live.room_id) == []
    await participants.add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)
    await one_leg(emulator, live.room_id)
    assert (await control(emulator, "GET", "/emulator/faults")).body["callAutomation"]["remaining"] == 0


async def test_the_sdk_retries_a_refused_add_with_the_same_id_and_it_rings_once(
    emulator: RunningEmulator, calls: CallAutomationApi, retrying: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    await set_faults(emulator, {"callAutomation": {"status": 503, "count": 1, "paths": [":add"]}})

    await participants_of(retrying).add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)

    (refused, accepted) = await logged_adds(emulator)
    assert (refused[0], accepted[0]) == (503, 202)
    assert refused[1] == accepted[1]
    await one_leg(emulator, live.room_id)


async def test_a_lost_answer_retried_with_the_same_id_answers_the_first_result_and_adds_one_leg(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    await set_faults(
        emulator, {"callAutomation": {"status": 503, "count": 1, "mode": "loseAnswer", "paths": [":add"]}}
    )
    participants = participants_of(calls)
    headers = first_sent()

    with pytest.raises(HttpResponseError) as lost:
        await participants.add(
            live.connection_id, PHONE, source_caller_id_number=CALLER_ID, headers=dict(headers)
        )
    # The add happened although its answer was lost.
    (ringing,) = await invitations(emulator, live.room_id)
    retried = await participants.add(
        live.connection_id, PHONE, source_caller_id_number=CALLER_ID, headers=dict(headers)
    )

    assert lost.value.status_code == 503
    assert invitation_of(retried) == ringing["invitationId"]
    assert await logged_adds(emulator) == [
        (503, headers["Repeatability-Request-ID"]),
        (202, headers["Repeatability-Request-ID"]),
    ]
    await one_leg(emulator, live.room_id)


async def test_the_sdk_retries_a_lost_answer_and_the_phone_joins_once(
    emulator: RunningEmulator, calls: CallAutomationApi, retrying: CallAutomationApi, sink: CallbackSink
) -> None:
    live = await live_call(emulator, calls, sink)
    await set_faults(
        emulator, {"callAutomation": {"status": 500, "count": 1, "mode": "loseAnswer", "paths": [":add"]}}
    )

    result = await participants_of(retrying).add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)

    (invitation,) = await invitations(emulator, live.room_id)
    assert invitation["invitationId"] == invitation_of(result)
    assert [status for status, _ in await logged_adds(emulator)] == [500, 202]
    await one_leg(emulator, live.room_id)


async def test_a_fault_limited_to_some_paths_leaves_the_others_alone(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await set_faults(emulator, {"callAutomation": {"status": 429, "paths": [":add", ":remove"]}})
    live = await live_call(emulator, calls, sink)

    participants = await calls.list_participants(live.connection_id)
    with pytest.raises(HttpResponseError) as throttled:
        await participants_of(calls).add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)

    assert len(participants) == 1
    assert throttled.value.status_code == 429
    assert error_of(throttled.value).code == "TooManyRequests"


async def test_a_fault_with_no_chance_never_fires(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await set_faults(emulator, {"callAutomation": {"status": 500, "probability": 0}})
    live = await live_call(emulator, calls, sink)

    await participants_of(calls).add(live.connection_id, PHONE, source_caller_id_number=CALLER_ID)

    await one_leg(emulator, live.room_id)


async def test_duplicated_callbacks_arrive_twice_and_still_verify(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await set_faults(emulator, {"callbacks": {"duplicate": 1}})
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])

    await calls.connect(sink.url("/bot"), room_id=room.id)

    await sink.wait_for(lambda s: len(s.posts_to("/bot")) >= 4)
    await settle(emulator)
    posts = sink.posts_to("/bot")
    assert len(posts) == 4
    assert posts[0].raw == posts[1].raw
    assert posts[2].raw == posts[3].raw
    assert posts[0].headers["Authorization"] != posts[1].headers["Authorization"]
    assert names(sink, "/bot") == [
        "CallConnected",
        "CallConnected",
        "ParticipantsUpdated",
        "ParticipantsUpdated",
    ]
    check_callbacks(sink, await CallbackKeys.fetch(emulator), emulator.config.resource_id)


async def test_dropped_callbacks_never_arrive_until_the_fault_is_cleared(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await set_faults(emulator, {"callbacks": {"drop": 1}})
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    props = await calls.connect(sink.url("/bot"), room_id=room.id)
    await until_connected(calls, connection_id(props))
    await settle(emulator)
    assert sink.posts_to("/bot") == []

    await control(emulator, "DELETE", "/emulator/faults")
    await join(emulator, room.id, room.members[1])

    await sink.wait_for(received("/bot", "ParticipantsUpdated"))
    assert names(sink, "/bot") == ["ParticipantsUpdated"]


async def test_reordered_callbacks_come_newest_first_one_per_post(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await set_faults(emulator, {"callbacks": {"reorder": True, "delaySeconds": 1}})
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])

    await calls.connect(sink.url("/bot"), room_id=room.id)

    await sink.wait_for(received("/bot", "CallConnected"))
    await settle(emulator)
    assert names(sink, "/bot") == ["ParticipantsUpdated", "CallConnected"]
    assert [len(post.events) for post in sink.posts_to("/bot")] == [1, 1]


async def test_without_faults_every_event_comes_in_its_own_post(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    # A slow receiver: ACS still sends one event per POST, in order.
    await set_faults(emulator, {"callbacks": {"delaySeconds": 1}})
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])

    props = await calls.connect(sink.url("/bot"), room_id=room.id)
    await until_connected(calls, connection_id(props))
    await join(emulator, room.id, room.members[1])
    await calls.hang_up(connection_id(props), is_for_everyone=True)

    await sink.wait_for(received("/bot", "CallDisconnected"))
    await settle(emulator)
    assert names(sink, "/bot") == [
        "CallConnected",
        "ParticipantsUpdated",
        "ParticipantsUpdated",
        "CallDisconnected",
    ]
    assert [len(post.events) for post in sink.posts_to("/bot")] == [1, 1, 1, 1]
    assert len({post.headers["Authorization"] for post in sink.posts_to("/bot")}) == 4


async def test_batched_callbacks_carry_the_events_queued_together_in_one_array(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    await set_faults(emulator, {"callbacks": {"batch": True}})
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])

    await calls.connect(sink.url("/bot"), room_id=room.id)

    await sink.wait_for(received("/bot", "ParticipantsUpdated"))
    await settle(emulator)
    (post,) = sink.posts_to("/bot")
    assert names(sink, "/bot") == ["CallConnected", "ParticipantsUpdated"]
    assert len(post.events) == 2
