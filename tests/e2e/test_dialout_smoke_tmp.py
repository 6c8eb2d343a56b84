from tests.e2e.dialout_support import dialout_bed, INTERPRETER

async def test_smoke() -> None:
    async with dialout_bed() as bed:
        room = await bed.room()
        await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1, dtmf=[{"afterSeconds": 3, "tones": "1"}, {"afterSeconds": 15, "tones": "1"}])
        reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER, "confirmWithDtmf": True, "announcement": "An interpreter joined."})
        print(reply.status, reply.body, reply.headers.get("Location"))
        body = await bed.wait_status(reply.body["id"], "confirmed", "declined", "failed")
        print(body)
        print(await bed.notified(reply.body["id"], "dialout.confirmed"))
        call = await bed.roombot.emulator_call(room.id)
        print(call["participants"], call["media"])
        print(await bed.invitations(room.id))
