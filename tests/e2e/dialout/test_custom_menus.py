"""A custom ROOMBOT_MENUS_FILE adds to the packaged menus: a file that knows nothing of
`interpreter-confirm` still has dial-outs confirmed by it, and one that defines it replaces it."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.dialout.support import INTERPRETER, dialout_bed
from tests.e2e.dialout.test_flow import PRESS_1

UNRELATED = """
menus:
  language:
    prompt: "Press 1 for English."
    options: {"1": {notify: {event: language}}}
"""
# 9 confirms instead of 1: the packaged menu is gone when this one is used.
OVERRIDE = """
menus:
  interpreter-confirm:
    prompt: "Press 9 to accept."
    options: {"9": {confirm: true}}
    maxTries: 1
"""


async def dial_out_outcome(menus_file: Path) -> str:
    async with dialout_bed(menus_file=menus_file) as bed:
        room = await bed.room()
        await bed.phone(INTERPRETER, answer="accept", answerAfterSeconds=1, dtmf=PRESS_1)
        reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER, "confirmWithDtmf": True})
        assert reply.status == 202, reply.text
        done = await bed.wait_status(reply.body["id"], "confirmed", "declined", "failed")
        return str(done["status"])


async def test_a_file_without_the_confirmation_menu_still_confirms_dial_outs(tmp_path: Path) -> None:
    menus_file = tmp_path / "menus.yaml"
    menus_file.write_text(UNRELATED)

    assert await dial_out_outcome(menus_file) == "confirmed"


async def test_a_file_defining_the_confirmation_menu_replaces_the_packaged_one(tmp_path: Path) -> None:
    menus_file = tmp_path / "menus.yaml"
    menus_file.write_text(OVERRIDE)

    # The interpreter presses 1, which the replacing menu does not know: one failed try, declined.
    assert await dial_out_outcome(menus_file) == "declined"
