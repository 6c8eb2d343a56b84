"""Interpreter dial-outs through the emulator: every outcome a backend can see, on
`GET /api/dialouts/{id}` and as one signed post to NOTIFY_URL."""

from __future__ import annotations

from typing import Any

from bot import keys
from bot.messages import StartDialOut
from bot.testing import CreatedRoom, RoomBot
from bot.testing.harness import eventually
from tests.e2e.dialout.support import CALLER_ID, INTERPRETER, DialOutBed
from tests.e2e.helpers import assert_problem

# A key press is scripted several times: whichever lands while the menu listens answers it, the
# others fall on no recognize and are dropped, as a real phone's would be.
PRESS_1 = [{"afterSeconds": seconds, "tones": "1"} for seconds in (2, 6, 12, 20)]
PRESS_2 = [{"afterSeconds": seconds, "tones": "2"} for seconds in (2, 6, 12, 20)]
ANNOUNCEMENT = "An interpreter has joined the call."


async def plays_to_everyone(roombot: RoomBot, room_id: str, text: str) -> list[dict[str, Any]]:
    call = await roombot.emulator_call(room_id)
    assert call is not None
    return [
        media
        for media in call["media"]
        if media["kind"] == "play"
        and media["to"] == "everyone"
        and any(source.get("text", {}).get("text") == text for source in media["sources"])
    ]


async def declined_and_removed(bed: DialOutBed, room_id: str, dialout_id: str) -> None:
    """The dial-out ends declined, the backend hears so, and the interpreter leaves the call."""
    done = await bed.wait_status(dialout_id, "confirmed", "declined", "failed")
    assert done["status"] == "declined"
    await bed.notified(dialout_id, "dialout.declined")

    async def removed() -> bool:
        return f"4:{INTERPRETER}" not in await bed.call_raw_ids(room_id)

    await eventually(removed, what="the interpreter's removal")


async def test_accepted_and_confirmed_with_dtmf(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1, dtmf=PRESS_1)

    reply = await bed.dial(
        room.id, {"phoneNumber": INTERPRETER, "confirmWithDtmf": True, "announcement": ANNOUNCEMENT}
    )

    assert reply.status == 202, reply.text
    started = reply.body
    assert reply.headers["Location"] == f"/api/dialouts/{started['id']}"
    assert started["roomId"] == room.id
    assert started["phoneNumber"] == INTERPRETER
    assert started["callerId"] == CALLER_ID
    assert started["confirmWithDtmf"] is True
    assert started["status"] in ("ringing", "connected", "confirmed")
    assert "result" not in started
    done = await bed.wait_status(started["id"], "confirmed", "declined", "failed")
    assert done["status"] == "confirmed"
    assert done["participantRawId"] == f"4:{INTERPRETER}"
    assert f"4:{INTERPRETER}" in await bed.call_raw_ids(room.id)
    posted = await bed.notified(started["id"], "dialout.confirmed")
    assert posted["status"] == "confirmed"
    assert posted["phoneNumber"] == INTERPRETER
    # The room hears the announcement once the interpreter said yes.
    heard = await eventually(
        lambda: plays_to_everyone(bed.roombot, room.id, ANNOUNCEMENT), what="the announcement"
    )
    assert len(heard) == 1


async def test_without_confirmation_the_answer_confirms(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1)

    reply = await bed.dial(room.id, {"phoneNumber": "+1 425 555 0123", "callerId": "+12065550100"})

    assert reply.status == 202, reply.text
    assert reply.body["phoneNumber"] == INTERPRETER
    assert reply.body["callerId"] == "+12065550100"
    done = await bed.wait_status(reply.body["id"], *("confirmed", "declined", "failed"))
    assert done["status"] == "confirmed"
    await bed.notified(reply.body["id"], "dialout.confirmed")
    invitation = (await bed.invitations(room.id))[0]
    assert invitation["sourceCallerIdNumber"] == "+12065550100"


async def test_declined_with_2_removes_the_participant(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1, dtmf=PRESS_2)

    reply = await bed.dial(
        room.id, {"phoneNumber": INTERPRETER, "confirmWithDtmf": True, "announcement": ANNOUNCEMENT}
    )

    await declined_and_removed(bed, room.id, reply.body["id"])
    assert await plays_to_everyone(bed.roombot, room.id, ANNOUNCEMENT) == []


async def test_no_key_pressed_declines_after_the_menu_gives_up(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1)

    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER, "confirmWithDtmf": True})

    await declined_and_removed(bed, room.id, reply.body["id"])


async def test_busy_fails_with_the_acs_code(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="busy", answerAfterSeconds=1)

    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER, "confirmWithDtmf": True})

    done = await bed.wait_status(reply.body["id"], "confirmed", "declined", "failed")
    assert done["status"] == "failed"
    assert done["result"]["code"] == 486
    assert done["result"]["subCode"] == 560486
    assert done["result"]["message"]
    posted = await bed.notified(reply.body["id"], "dialout.failed")
    assert posted["result"] == done["result"]
    assert f"4:{INTERPRETER}" not in await bed.call_raw_ids(room.id)


async def test_no_answer_fails_after_the_ring_timeout(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="noAnswer")

    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER, "ringTimeoutSeconds": 2})

    assert reply.body["ringTimeoutSeconds"] == 2
    done = await bed.wait_status(reply.body["id"], "confirmed", "declined", "failed")
    assert done["status"] == "failed"
    assert (done["result"]["code"], done["result"]["subCode"]) == (408, 560408)
    await bed.notified(reply.body["id"], "dialout.failed")
    assert (await bed.invitations(room.id))[0]["invitationTimeoutInSeconds"] == 2


async def test_cancel_while_ringing_never_joins(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="noAnswer")
    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER, "ringTimeoutSeconds": 180})
    assert reply.body["status"] == "ringing"

    cancelling = await bed.cancel(reply.body["id"])

    assert cancelling.status == 202, cancelling.text
    assert cancelling.body["id"] == reply.body["id"]
    assert cancelling.body["status"] in ("ringing", "cancelled")
    done = await bed.wait_status(reply.body["id"], "cancelled", "failed", "confirmed")
    assert done["status"] == "cancelled"
    await bed.notified(reply.body["id"], "dialout.cancelled")
    assert [i["state"] for i in await bed.invitations(room.id)] == ["cancelled"]
    assert f"4:{INTERPRETER}" not in await bed.call_raw_ids(room.id)
    again = await bed.cancel(reply.body["id"])
    assert_problem(again, 409)


async def test_a_connected_dial_out_cannot_be_cancelled(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1)
    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER})
    await bed.wait_status(reply.body["id"], "confirmed")

    refused = await bed.cancel(reply.body["id"])

    body = assert_problem(refused, 409)
    assert "confirmed" in body["detail"]
    assert f"4:{INTERPRETER}" in await bed.call_raw_ids(room.id)


async def test_the_call_ending_fails_a_ringing_dial_out(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="noAnswer")
    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER, "ringTimeoutSeconds": 180})

    await bed.roombot.leave(room.id, room.members[0])

    done = await bed.wait_status(reply.body["id"], "failed", "cancelled", "confirmed")
    assert done["status"] == "failed"
    assert "call ended" in done["result"]["message"]
    await bed.notified(reply.body["id"], "dialout.failed")


async def test_a_menu_action_dials_out_through_the_bus(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1)
    command = StartDialOut(room_id=room.id, phone_number=INTERPRETER, idempotency_key="menu-action-1")
    bus = bed.roombot.app[keys.SERVICES].bus

    first = await bus.execute(command)
    again = await bus.execute(command)

    assert again["id"] == first["id"]
    assert first["callerId"] == CALLER_ID
    done = await bed.wait_status(first["id"], "confirmed", "failed")
    assert done["status"] == "confirmed"
    assert len(await bed.invitations(room.id)) == 1


async def test_hanging_up_during_the_confirmation_declines(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1)
    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER, "confirmWithDtmf": True})
    await bed.wait_status(reply.body["id"], "connected")

    await bed.roombot.leave(room.id, f"4:{INTERPRETER}")

    done = await bed.wait_status(reply.body["id"], "confirmed", "declined", "failed")
    assert done["status"] == "declined"
    assert "hangup" in done["result"]["message"]
    await bed.notified(reply.body["id"], "dialout.declined")
