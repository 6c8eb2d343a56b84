"""Targeted announcements end to end: the bot on the emulator, checked against the emulator's
media log (who each play was addressed to, how it ended) and the bot's status resource."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot import keys
from bot.handlers import HandlerFactory
from bot.messages import Announce
from bot.testing import BACKEND_KEY, OPS_KEY, Reply, RoomBot, cloud_event, eventually
from config.prompts import Prompt
from handlers.announcements.handler import AnnouncementsHandler
from tests.e2e.helpers import LiveCall, assert_problem, raw_ids

FACTORIES: dict[str, HandlerFactory] = {"announcements": AnnouncementsHandler}
FINAL = {"completed", "failed", "cancelled"}
# Long enough to still be playing when the test looks, at the tests' time scale.
LONG_TEXT = "This consultation is being recorded for quality purposes. " * 6


@pytest.fixture
def roombot_handler_factories() -> dict[str, HandlerFactory]:
    return FACTORIES


async def announce(roombot: RoomBot, room_id: str, body: dict[str, Any]) -> Reply:
    return await roombot.request("POST", f"/api/rooms/{room_id}/announcements", key=BACKEND_KEY, json=body)


async def status_of(roombot: RoomBot, announcement_id: str) -> dict[str, Any]:
    reply = await roombot.request("GET", f"/api/announcements/{announcement_id}", key=BACKEND_KEY)
    assert reply.status == 200, reply.text
    return dict(reply.body)


async def wait_status(roombot: RoomBot, announcement_id: str, *wanted: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        current = await status_of(roombot, announcement_id)
        return current if current["status"] in wanted else None

    return await eventually(reached, what=f"announcement {announcement_id} {' or '.join(wanted)}")


async def plays(roombot: RoomBot, room_id: str) -> list[dict[str, Any]]:
    """The announcements' plays in the emulator's media log, oldest first."""
    call = await roombot.emulator_call(room_id)
    assert call is not None, f"no call runs in room {room_id}"
    return [
        entry
        for entry in call["media"]
        if entry["kind"] == "play" and str(entry.get("operationContext") or "").startswith("announcements:")
    ]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def heard_by(entry: dict[str, Any]) -> set[str] | str:
    """Whom a play was addressed to: raw ids, or "everyone" for a play to all."""
    to = entry["to"]
    return to if to == "everyone" else set(to)


async def play_of(roombot: RoomBot, room_id: str, announcement_id: str, *statuses: str) -> dict[str, Any]:
    """The emulator's play for an announcement, once it has one of ``statuses`` (any if none)."""

    async def found() -> dict[str, Any] | None:
        for entry in await plays(roombot, room_id):
            if entry["operationContext"] == f"announcements:{announcement_id}":
                return entry if not statuses or entry["status"] in statuses else None
        return None

    return await eventually(found, what=f"the play of announcement {announcement_id}")


async def started(roombot: RoomBot, room_id: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = await announce(roombot, room_id, body)
    assert reply.status == 202, reply.text
    return dict(reply.body)


# Who hears it.


async def test_an_announcement_to_everyone_plays_to_all(live_call: LiveCall, roombot: RoomBot) -> None:
    reply = await announce(roombot, live_call.room.id, {"text": "Welcome to the session.", "to": "everyone"})

    assert reply.status == 202, reply.text
    body = reply.body
    assert reply.headers["Location"] == f"/api/announcements/{body['id']}"
    assert body["roomId"] == live_call.room.id
    assert body["callConnectionId"] == live_call.id
    assert body["to"] == "everyone"
    assert body["status"] in ("queued", "playing")
    done = await wait_status(roombot, body["id"], *FINAL)
    assert done["status"] == "completed", done
    assert done["startedAt"] is not None
    assert done["finishedAt"] is not None
    play = await play_of(roombot, live_call.room.id, body["id"])
    assert heard_by(play) == "everyone"
    assert play["status"] == "completed"


async def test_a_role_announcement_reaches_only_that_role_in_the_call(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter", "Consumer", "Attendee", "Consumer", "Consumer"])
    presenter, consumer_1, attendee, consumer_2, absent_consumer = room.members
    for member in (presenter, consumer_1, attendee, consumer_2):
        await roombot.join(room.id, member)
    call = await roombot.connect(room.id)
    await roombot.wait_for_call(call["callConnectionId"], lambda c: len(c["participants"]) == 4)

    body = await started(
        roombot, room.id, {"text": "Questions open in five minutes.", "to": {"roles": ["Consumer"]}}
    )

    # The consumer who never joined is not addressed: ACS would refuse a play to them.
    assert set(body["to"]) == {consumer_1, consumer_2}
    assert body["audience"] == {"roles": ["Consumer"]}
    assert (await wait_status(roombot, body["id"], *FINAL))["status"] == "completed"
    play = await play_of(roombot, room.id, body["id"])
    assert heard_by(play) == {consumer_1, consumer_2}
    assert absent_consumer not in heard_by(play)


async def test_a_role_that_joined_after_the_roster_was_read_is_found(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter", "Consumer"])
    presenter, consumer = room.members
    await roombot.join(room.id, presenter)
    call = await roombot.connect(room.id)
    first = await started(roombot, room.id, {"text": "Hello presenters.", "to": {"roles": ["Presenter"]}})
    assert first["to"] == [presenter]

    await roombot.join(room.id, consumer)
    await roombot.wait_for_call(call["callConnectionId"], lambda c: len(c["participants"]) == 2)
    second = await started(roombot, room.id, {"text": "Hello consumers.", "to": {"roles": ["Consumer"]}})

    assert second["to"] == [consumer]


async def test_an_announcement_to_a_listed_participant(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter", "Attendee"])
    presenter, attendee = room.members
    await roombot.join(room.id, presenter)
    await roombot.join(room.id, attendee)
    call = await roombot.connect(room.id)
    await roombot.wait_for_call(call["callConnectionId"], lambda c: len(c["participants"]) == 2)

    body = await started(
        roombot, room.id, {"text": "Your camera is off.", "to": {"participants": [attendee]}}
    )

    assert body["to"] == [attendee]
    assert (await wait_status(roombot, body["id"], *FINAL))["status"] == "completed"
    assert heard_by(await play_of(roombot, room.id, body["id"])) == {attendee}


async def test_a_participant_whose_arrival_the_bot_missed_is_found_at_acs(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter", "Attendee"])
    presenter, attendee = room.members
    await roombot.join(room.id, presenter)
    await roombot.join(room.id, attendee)
    call_id = (await roombot.connect(room.id))["callConnectionId"]
    await roombot.wait_for_call(call_id, lambda c: len(c["participants"]) == 2)
    # A ParticipantsUpdated newer than any the emulator sent, without the attendee, as if the
    # one listing them again were lost: the bot's books miss them; ACS (the emulator) has them.
    listed = [{"identifier": {"rawId": presenter, "kind": "communicationUser"}, "isMuted": False}]
    stale = cloud_event(call_id, "ParticipantsUpdated", {"sequenceNumber": 10_000, "participants": listed})
    assert (await roombot.post_callbacks([stale])).status == 200
    await roombot.wait_for_call(call_id, lambda c: len(c["participants"]) == 1)

    body = await started(
        roombot, room.id, {"text": "Your camera is off.", "to": {"participants": [attendee]}}
    )

    assert body["to"] == [attendee]
    assert (await wait_status(roombot, body["id"], *FINAL))["status"] == "completed"
    assert heard_by(await play_of(roombot, room.id, body["id"])) == {attendee}


# Queueing, loops, interrupts, cancelling.


async def test_three_back_to_back_all_play_and_none_is_lost(live_call: LiveCall, roombot: RoomBot) -> None:
    texts = ["First announcement.", "Second announcement.", "Third announcement."]
    ids = [(await started(roombot, live_call.room.id, {"text": t, "to": "everyone"}))["id"] for t in texts]

    finals = [await wait_status(roombot, announcement_id, *FINAL) for announcement_id in ids]

    assert [final["status"] for final in finals] == ["completed"] * 3
    logged = await plays(roombot, live_call.room.id)
    assert [entry["operationContext"] for entry in logged] == [f"announcements:{i}" for i in ids]
    assert [entry["status"] for entry in logged] == ["completed"] * 3
    # They played one after the other: each started once the previous one had finished.
    moments = [(moment(final["startedAt"]), moment(final["finishedAt"])) for final in finals]
    assert moments[0][1] <= moments[1][0]
    assert moments[1][1] <= moments[2][0]
    refused = await roombot.request("GET", "/emulator/requests", base=roombot.emulator.url)
    assert not [r for r in refused.body if r["path"].endswith(":play") and r["status"] >= 400]


async def test_a_play_whose_answer_is_lost_is_played_once(live_call: LiveCall, roombot: RoomBot) -> None:
    # ACS performs the plays but their answers are lost: play has no repeatability, so the bot
    # must learn from the events that they started rather than send them again.
    fault = {"status": 503, "count": 3, "mode": "loseAnswer", "paths": [":play"]}
    armed = await roombot.request(
        "PUT", "/emulator/faults", json={"callAutomation": fault}, base=roombot.emulator.url
    )
    assert armed.status == 200, armed.text
    texts = [f"Announcement number {n}." for n in range(5)]
    ids = [(await started(roombot, live_call.room.id, {"text": t, "to": "everyone"}))["id"] for t in texts]

    finals = [await wait_status(roombot, announcement_id, *FINAL) for announcement_id in ids]

    assert [final["status"] for final in finals] == ["completed"] * 5
    logged = [entry["operationContext"] for entry in await plays(roombot, live_call.room.id)]
    assert sorted(logged) == sorted(f"announcements:{i}" for i in ids)


async def test_a_looping_announcement_plays_until_deleted(live_call: LiveCall, roombot: RoomBot) -> None:
    body = await started(roombot, live_call.room.id, {"text": "Please hold.", "to": "everyone", "loop": True})
    await wait_status(roombot, body["id"], "playing")
    await play_of(roombot, live_call.room.id, body["id"], "running")

    reply = await roombot.request("DELETE", f"/api/announcements/{body['id']}", key=BACKEND_KEY)

    assert reply.status == 202, reply.text
    cancelled = await wait_status(roombot, body["id"], *FINAL)
    assert cancelled["status"] == "cancelled"
    assert (await play_of(roombot, live_call.room.id, body["id"]))["status"] == "canceled"
    again = await roombot.request("DELETE", f"/api/announcements/{body['id']}", key=BACKEND_KEY)
    assert_problem(again, 409)


async def test_a_queued_announcement_is_dropped_without_playing(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    looping = await started(
        roombot, live_call.room.id, {"text": "Please hold.", "to": "everyone", "loop": True}
    )
    queued = await started(roombot, live_call.room.id, {"text": "Never heard.", "to": "everyone"})
    await wait_status(roombot, looping["id"], "playing")

    reply = await roombot.request("DELETE", f"/api/announcements/{queued['id']}", key=BACKEND_KEY)

    assert reply.status == 200, reply.text
    assert reply.body["status"] == "cancelled"
    stop = await roombot.request("DELETE", f"/api/announcements/{looping['id']}", key=BACKEND_KEY)
    assert stop.status == 202, stop.text
    await wait_status(roombot, looping["id"], "cancelled")
    after = await roombot.request("POST", f"/api/rooms/{live_call.room.id}/announcements", key=BACKEND_KEY,
                                  json={"text": "Next.", "to": "everyone"})  # fmt: skip
    await wait_status(roombot, after.body["id"], "completed")
    contexts = [entry["operationContext"] for entry in await plays(roombot, live_call.room.id)]
    assert f"announcements:{queued['id']}" not in contexts
    assert (await status_of(roombot, queued["id"]))["status"] == "cancelled"


async def test_an_interrupting_announcement_cuts_the_one_playing(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    looping = await started(
        roombot, live_call.room.id, {"text": "Please hold.", "to": "everyone", "loop": True}
    )
    await wait_status(roombot, looping["id"], "playing")

    urgent = await started(
        roombot, live_call.room.id, {"text": "The session ends now.", "to": "everyone", "interrupt": True}
    )

    assert (await wait_status(roombot, looping["id"], *FINAL))["status"] == "cancelled"
    assert (await wait_status(roombot, urgent["id"], *FINAL))["status"] == "completed"


async def test_statuses_survive_a_restart(tmp_path: Path) -> None:
    async with RoomBot.start(handler_factories=FACTORIES, state_url=f"sqlite:///{tmp_path / 's.db'}") as bot:
        room = await bot.create_room(["Presenter"])
        await bot.join(room.id, room.members[0])
        await bot.connect(room.id)
        body = await started(bot, room.id, {"text": "Remember me.", "to": "everyone"})
        await wait_status(bot, body["id"], "completed")

        await bot.restart()

        assert (await status_of(bot, body["id"]))["status"] == "completed"


async def test_an_unfinished_announcement_is_cancelled_when_the_call_ends(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    looping = await started(
        roombot, live_call.room.id, {"text": "Please hold.", "to": "everyone", "loop": True}
    )
    await wait_status(roombot, looping["id"], "playing")

    ended = await roombot.request("POST", f"/ops/calls/{live_call.id}/end", key=OPS_KEY)
    assert ended.status == 202, ended.text

    final = await wait_status(roombot, looping["id"], *FINAL)
    assert final["status"] == "cancelled"


# Bad requests.


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "everyone"}, "text"),
        ({"text": "a", "ssml": "<speak>a</speak>", "to": "everyone"}, "ssml"),
        ({"text": "a", "to": {"roles": ["Boss"]}}, "to.roles[0]"),
        ({"text": "a", "to": {"roles": []}}, "to.roles"),
        ({"text": "a", "to": {"participants": []}}, "to.participants"),
        ({"text": "a", "to": "the doctor"}, "to"),
        ({"text": "a", "to": {"roles": ["Consumer"]}, "interrupt": True}, "interrupt"),
        ({"text": "a", "to": "pstn", "interrupt": True}, "interrupt"),
        ({"text": "a", "to": "everyone", "loop": "forever"}, "loop"),
    ],
)
async def test_an_invalid_body_is_422_naming_the_field(
    live_call: LiveCall, roombot: RoomBot, body: dict[str, Any], field: str
) -> None:
    reply = await announce(roombot, live_call.room.id, body)

    problem = assert_problem(reply, 422)
    assert problem["errors"][0]["field"] == field
    assert field in problem["detail"]


async def test_a_listed_participant_not_in_the_call_is_409_naming_them(
    live_call: LiveCall, roombot: RoomBot
) -> None:
    presenter, attendee_not_joined = live_call.room.members

    reply = await announce(
        roombot, live_call.room.id, {"text": "a", "to": {"participants": [presenter, attendee_not_joined]}}
    )

    problem = assert_problem(reply, 409)
    assert problem["participants"] == [attendee_not_joined]
    assert attendee_not_joined in problem["detail"]


@pytest.mark.parametrize(("to", "words"), [({"roles": ["Consumer"]}, "Consumer"), ("pstn", "PSTN")])
async def test_an_audience_nobody_in_the_call_matches_is_409(
    live_call: LiveCall, roombot: RoomBot, to: Any, words: str
) -> None:
    reply = await announce(roombot, live_call.room.id, {"text": "a", "to": to})

    assert words in assert_problem(reply, 409)["detail"]


async def test_a_room_without_a_live_call_is_409(roombot: RoomBot) -> None:
    room = await roombot.create_room(["Presenter"])

    reply = await announce(roombot, room.id, {"text": "a", "to": "everyone"})

    assert "connect" in assert_problem(reply, 409)["detail"]


async def test_a_room_id_that_cannot_be_one_is_404(roombot: RoomBot) -> None:
    assert_problem(await announce(roombot, "not-a-room", {"text": "a", "to": "everyone"}), 404)


async def test_announcements_need_a_backend_key(live_call: LiveCall, roombot: RoomBot) -> None:
    path = f"/api/rooms/{live_call.room.id}/announcements"
    body = {"text": "a", "to": "everyone"}

    assert_problem(await roombot.request("POST", path, json=body), 401)
    assert_problem(await roombot.request("POST", path, json=body, key=OPS_KEY), 403)
    assert_problem(await roombot.request("GET", f"/api/announcements/{'0' * 32}"), 401)


async def test_a_body_that_is_not_json_is_refused(live_call: LiveCall, roombot: RoomBot) -> None:
    path = f"/api/rooms/{live_call.room.id}/announcements"

    not_json = await roombot.request(
        "POST", path, key=BACKEND_KEY, data="text=a", headers={"Content-Type": "text/plain"}
    )
    broken = await roombot.request(
        "POST", path, key=BACKEND_KEY, data="{", headers={"Content-Type": "application/json"}
    )

    assert_problem(not_json, 415)
    assert_problem(broken, 400)


@pytest.mark.parametrize("announcement_id", ["0" * 32, "nope", "A" * 32])
async def test_an_unknown_announcement_is_404(roombot: RoomBot, announcement_id: str) -> None:
    for method in ("GET", "DELETE"):
        reply = await roombot.request(method, f"/api/announcements/{announcement_id}", key=BACKEND_KEY)
        assert_problem(reply, 404)


async def test_bad_requests_play_nothing(live_call: LiveCall, roombot: RoomBot) -> None:
    await announce(roombot, live_call.room.id, {"text": "a", "to": {"roles": ["Consumer"]}})
    await announce(roombot, live_call.room.id, {"to": "everyone"})

    call = await roombot.emulator_call(live_call.room.id)

    assert call is not None
    assert not [entry for entry in call.get("media", []) if entry["kind"] == "play"]


async def test_an_announcement_to_pstn_reaches_the_phone_participants(roombot: RoomBot) -> None:
    phone = "+14255550123"
    behaviour = await roombot.request(
        "PUT", f"/emulator/phones/{phone}", json={"answer": "accept"}, base=roombot.emulator.url
    )
    assert behaviour.status == 200, behaviour.text
    room = await roombot.create_room(["Presenter"], pstn_dial_out_enabled=True)
    await roombot.join(room.id, room.members[0])
    call = await roombot.connect(room.id)
    await roombot.app[keys.ACS].participants.add_phone(call["callConnectionId"], phone, "+18005550100")
    await roombot.wait_for_call(call["callConnectionId"], lambda c: f"4:{phone}" in raw_ids(c))

    body = await started(roombot, room.id, {"text": "You are connected to the clinic.", "to": "pstn"})

    assert body["to"] == [f"4:{phone}"]
    assert (await wait_status(roombot, body["id"], *FINAL))["status"] == "completed"
    assert heard_by(await play_of(roombot, room.id, body["id"])) == {f"4:{phone}"}


async def test_the_routes_are_described_in_the_openapi_document(roombot: RoomBot) -> None:
    reply = await roombot.request("GET", "/openapi.json")

    paths = reply.body["paths"]
    assert set(paths["/api/rooms/{roomId}/announcements"]) == {"post"}
    assert set(paths["/api/announcements/{announcementId}"]) == {"get", "delete"}
    create = paths["/api/rooms/{roomId}/announcements"]["post"]
    assert {"202", "409", "422"} <= set(create["responses"])


async def test_a_queued_announcement_still_plays_after_a_restart(tmp_path: Path) -> None:
    async with RoomBot.start(handler_factories=FACTORIES, state_url=f"sqlite:///{tmp_path / 's.db'}") as bot:
        room = await bot.create_room(["Presenter"])
        await bot.join(room.id, room.members[0])
        await bot.connect(room.id)
        looping = await started(bot, room.id, {"text": "Please hold.", "to": "everyone", "loop": True})
        queued = await started(bot, room.id, {"text": "Thanks for holding.", "to": "everyone"})
        await wait_status(bot, looping["id"], "playing")
        assert (await status_of(bot, queued["id"]))["status"] == "queued"

        await bot.restart()
        stop = await bot.request("DELETE", f"/api/announcements/{looping['id']}", key=BACKEND_KEY)

        assert stop.status == 202, stop.text
        assert (await wait_status(bot, looping["id"], *FINAL))["status"] == "cancelled"
        assert (await wait_status(bot, queued["id"], *FINAL))["status"] == "completed"
        contexts = [entry["operationContext"] for entry in await plays(bot, room.id)]
        assert contexts.count(f"announcements:{queued['id']}") == 1


async def test_the_announce_command_can_wait_for_the_play(live_call: LiveCall, roombot: RoomBot) -> None:
    bus = roombot.app[keys.SERVICES].bus
    presenter = live_call.room.members[0]

    announcement_id = await bus.execute(
        Announce(live_call.id, Prompt(text="Goodbye."), to=(presenter,), wait=True)
    )

    # Returned once the play finished: the emulator has it completed already.
    assert (await play_of(roombot, live_call.room.id, announcement_id))["status"] == "completed"
    assert heard_by(await play_of(roombot, live_call.room.id, announcement_id)) == {presenter}
    assert (await wait_status(roombot, announcement_id, *FINAL))["to"] == [presenter]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"to": ()}, ValueError),
        ({"to": ("8:acs:x",), "interrupt": True}, ValueError),
        ({"call_connection_id": "11111111-2222-4333-8444-555555555555"}, LookupError),
    ],
    ids=["empty audience", "targeted interrupt", "unknown call"],
)
async def test_a_bad_announce_command_is_refused(
    live_call: LiveCall, roombot: RoomBot, changes: dict[str, Any], error: type[Exception]
) -> None:
    command = replace(Announce(live_call.id, Prompt(text="Hello.")), **changes)

    with pytest.raises(error):
        await roombot.app[keys.SERVICES].bus.execute(command)
    assert await plays(roombot, live_call.room.id) == []
