"""One trigger, one phone call: however the trigger is repeated, whatever ACS's answers suffer,
and across a restart of the bot, the emulator shows one invitation, its add requests share one
Repeatability-Request-ID, and the outcome is posted once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import keys
from bot.acs.retry import repeatability_headers
from bot.testing import CreatedRoom
from handlers.dialout.model import DialOut
from handlers.dialout.store import DIALOUTS
from tests.e2e.dialout.support import CALLER_ID, INTERPRETER, DialOutBed, dialout_bed
from tests.e2e.helpers import assert_problem

# Long enough (simulated) that the phone is still ringing when the bot has restarted.
SLOW_ANSWER = {"answer": "accept", "answerAfterSeconds": 30}
RINGING_LONG = {"phoneNumber": INTERPRETER, "ringTimeoutSeconds": 120}


@pytest.fixture
async def durable_bed(tmp_path: Path) -> AsyncIterator[DialOutBed]:
    # Resends wait longer than a test: only the restart's resumption may send again.
    async with dialout_bed(
        state_url=f"sqlite:///{tmp_path / 'state.db'}", handler_config={"resend_delay_seconds": 120}
    ) as bed:
        yield bed


async def assert_one_leg(bed: DialOutBed, room_id: str) -> list[dict[str, Any]]:
    """One invitation, every add request with one repeatability id; the add requests."""
    invitations = await bed.invitations(room_id)
    assert len(invitations) == 1, invitations
    adds = await bed.add_requests()
    assert adds, "no participants:add request reached the emulator"
    assert len({add["repeatabilityRequestId"] for add in adds}) == 1, adds
    assert None not in {add["repeatabilityRequestId"] for add in adds}
    call = await bed.roombot.emulator_call(room_id)
    phones = [p for p in (call or {}).get("participants", []) if p["rawId"] == f"4:{INTERPRETER}"]
    assert len(phones) <= 1
    return adds


async def put_fault(bed: DialOutBed, **fault: Any) -> None:
    reply = await bed.emulator("PUT", "/emulator/faults", json={"callAutomation": fault})
    assert reply.status == 200, reply.text


async def test_fifty_concurrent_triggers_ring_once(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1)
    body = {"phoneNumber": INTERPRETER, "announcement": "The interpreter joined."}

    replies = await asyncio.gather(*(bed.dial(room.id, body, key="interpreter-42") for _ in range(50)))

    assert sorted(reply.status for reply in replies) == [200] * 49 + [202], [r.text for r in replies]
    assert len({reply.body["id"] for reply in replies}) == 1
    assert all(r.headers.get("Idempotent-Replayed") == "true" for r in replies if r.status == 200)
    dialout_id = replies[0].body["id"]
    done = await bed.wait_status(dialout_id, "confirmed", "failed")
    assert done["status"] == "confirmed"
    await bed.notified(dialout_id, "dialout.confirmed")
    await assert_one_leg(bed, room.id)


async def test_a_repeat_after_the_outcome_answers_the_first_dial_out(
    bed: DialOutBed, room: CreatedRoom
) -> None:
    await bed.phone(INTERPRETER, answer="busy", answerAfterSeconds=1)
    first = await bed.dial(room.id, {"phoneNumber": INTERPRETER}, key="retry-me")
    await bed.wait_status(first.body["id"], "failed")

    # Equivalent body: the same number written differently, a default spelled out.
    again = await bed.dial(
        room.id, {"phoneNumber": "+1 425-555-0123", "confirmWithDtmf": False}, key="retry-me"
    )

    assert again.status == 200, again.text
    assert again.body["id"] == first.body["id"]
    assert again.body["status"] == "failed"
    assert again.headers["Location"] == f"/api/dialouts/{first.body['id']}"
    await bed.notified(first.body["id"], "dialout.failed")
    await assert_one_leg(bed, room.id)


async def test_a_lost_acs_answer_is_retried_without_a_second_ring(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1)
    await put_fault(bed, status=503, count=1, mode="loseAnswer", paths=[":add"])

    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER})

    assert reply.status == 202, reply.text
    done = await bed.wait_status(reply.body["id"], "confirmed", "failed")
    assert done["status"] == "confirmed"
    adds = await assert_one_leg(bed, room.id)
    assert [add["status"] for add in adds] == [503, 202]
    await bed.notified(reply.body["id"], "dialout.confirmed")


async def test_a_refused_add_is_resent_and_rings_once(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1)
    await put_fault(bed, status=503, count=1, mode="refuse", paths=[":add"])

    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER})

    done = await bed.wait_status(reply.body["id"], "confirmed", "failed")
    assert done["status"] == "confirmed"
    adds = await assert_one_leg(bed, room.id)
    assert [add["status"] for add in adds] == [503, 202]


async def test_a_restart_between_trigger_and_answer_completes_the_dial_out(durable_bed: DialOutBed) -> None:
    bed = durable_bed
    room = await bed.room()
    await bed.phone(INTERPRETER, **SLOW_ANSWER)
    reply = await bed.dial(room.id, RINGING_LONG, key="across-restart")
    assert reply.status == 202, reply.text
    assert reply.body["status"] == "ringing"

    await bed.roombot.restart()

    done = await bed.wait_status(reply.body["id"], "confirmed", "failed")
    assert done["status"] == "confirmed"
    again = await bed.dial(room.id, RINGING_LONG, key="across-restart")
    assert (again.status, again.body["id"]) == (200, reply.body["id"])
    await bed.notified(reply.body["id"], "dialout.confirmed")
    assert len(await assert_one_leg(bed, room.id)) == 1


async def test_an_invitation_unanswered_before_a_restart_is_resent_with_its_id(
    durable_bed: DialOutBed,
) -> None:
    bed = durable_bed
    room = await bed.room()
    await bed.phone(INTERPRETER, **SLOW_ANSWER)
    # ACS rings the phone, and every answer of the bot's attempts is lost on the way back.
    await put_fault(bed, status=503, count=20, mode="loseAnswer", paths=[":add"])
    reply = await bed.dial(room.id, RINGING_LONG)
    assert reply.status == 202, reply.text
    assert reply.body["status"] == "pending"
    sent_before = len(await bed.add_requests())
    await bed.emulator("DELETE", "/emulator/faults")

    await bed.roombot.restart()

    done = await bed.wait_status(reply.body["id"], "confirmed", "failed")
    assert done["status"] == "confirmed"
    adds = await assert_one_leg(bed, room.id)
    assert len(adds) == sent_before + 1
    assert adds[-1]["status"] == 202
    await bed.notified(reply.body["id"], "dialout.confirmed")


def stored(room: CreatedRoom, call_connection_id: str, *, first_sent: datetime, key: str | None) -> DialOut:
    return DialOut(
        id=str(uuid.uuid4()),
        room_id=room.id,
        call_connection_id=call_connection_id,
        phone_number=INTERPRETER,
        caller_id=CALLER_ID,
        created_at=first_sent,
        updated_at=first_sent,
        repeatability=repeatability_headers(first_sent=first_sent),
        idempotency_key=key,
    )


async def test_resuming_drops_unpromised_records_and_never_resends_late(durable_bed: DialOutBed) -> None:
    bed = durable_bed
    room = await bed.room()
    call_id = (await bed.roombot.calls())[0]["callConnectionId"]
    store = bed.roombot.app[keys.STORE]
    # Written, but its key never claimed: the process died before anyone was answered.
    orphan = stored(room, call_id, first_sent=datetime.now(UTC), key="never-claimed")
    # Its first attempt is older than ACS remembers a repeatability id.
    stale = stored(room, call_id, first_sent=datetime.now(UTC) - timedelta(minutes=10), key=None)
    for record in (orphan, stale):
        await store.put_doc(DIALOUTS, record.id, record.to_doc())

    await bed.roombot.restart()

    assert_problem(await bed.get(orphan.id), 404)
    failed = await bed.wait_status(stale.id, "failed")
    assert "repeatability" in failed["result"]["message"]
    await bed.notified(stale.id, "dialout.failed")
    assert await bed.add_requests() == []
