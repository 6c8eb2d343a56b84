"""Cancelling a dial-out whose invitation went out but whose answer was lost: ACS may be ringing
the phone, so the bot learns the invitation id (resending the add with the same
Repeatability-Request-ID, which ACS answers with its first result) and cancels it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot import keys
from bot.acs.retry import repeatability_headers
from handlers.dialout.model import DialOut
from handlers.dialout.store import DIALOUTS
from tests.e2e.dialout.support import CALLER_ID, INTERPRETER, DialOutBed, dialout_bed

# Simulated seconds (the bed runs the emulator at 0.05): the phone would answer 1 s after the add.
ANSWER_AFTER_SECONDS = 20


@pytest.fixture
async def lossy_bed() -> AsyncIterator[DialOutBed]:
    # One attempt per ACS action and a resend far away: only the cancel may send the add again.
    async with dialout_bed(handler_config={"resend_delay_seconds": 120}, retry_max_attempts=1) as bed:
        yield bed


async def test_cancelling_after_a_lost_add_answer_cancels_the_ringing_invitation(
    lossy_bed: DialOutBed,
) -> None:
    bed = lossy_bed
    room = await bed.room()
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=ANSWER_AFTER_SECONDS)
    fault = {"status": 503, "count": 1, "mode": "loseAnswer", "paths": [":add"]}
    assert (await bed.emulator("PUT", "/emulator/faults", json={"callAutomation": fault})).status == 200
    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER, "ringTimeoutSeconds": 120})
    assert reply.status == 202, reply.text
    assert reply.body["status"] == "pending"
    assert [i["state"] for i in await bed.invitations(room.id)] == ["ringing"]

    cancelling = await bed.cancel(reply.body["id"])

    assert cancelling.status == 202, cancelling.text
    done = await bed.wait_status(reply.body["id"], "cancelled", "failed", "confirmed")
    assert done["status"] == "cancelled"
    assert [i["state"] for i in await bed.invitations(room.id)] == ["cancelled"]
    adds = await bed.add_requests()
    assert [add["status"] for add in adds] == [503, 202]
    assert len({add["repeatabilityRequestId"] for add in adds}) == 1
    await bed.notified(reply.body["id"], "dialout.cancelled")
    # Past the moment the phone would have answered: it never joined.
    await asyncio.sleep(ANSWER_AFTER_SECONDS * 0.05 + 0.5)
    assert f"4:{INTERPRETER}" not in await bed.call_raw_ids(room.id)


async def test_cancelling_before_anything_was_sent_needs_no_acs(lossy_bed: DialOutBed) -> None:
    bed = lossy_bed
    room = await bed.room()
    call_id = (await bed.roombot.calls())[0]["callConnectionId"]
    # Recorded, its invitation not sent yet (as between the trigger and the first attempt).
    now = datetime.now(UTC)
    unsent = DialOut(
        id=str(uuid.uuid4()),
        room_id=room.id,
        call_connection_id=call_id,
        phone_number=INTERPRETER,
        caller_id=CALLER_ID,
        created_at=now,
        updated_at=now,
        repeatability=repeatability_headers(first_sent=now),
    )
    await bed.roombot.app[keys.STORE].put_doc(DIALOUTS, unsent.id, unsent.to_doc())

    cancelling = await bed.cancel(unsent.id)

    assert cancelling.status == 202, cancelling.text
    assert cancelling.body["status"] == "cancelled"
    await bed.notified(unsent.id, "dialout.cancelled")
    assert await bed.add_requests() == []
    assert await bed.invitations(room.id) == []
