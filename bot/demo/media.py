"""The media part of the telehealth demo: a targeted announcement and the interpreter.

The observer alone is told they are observing (an announcement addressed by room role); then the
backend asks for an interpreter by phone. The interpreter's simulated phone answers and presses 1
in the confirmation menu, and the room hears that an interpreter joined. Each step checks the
outcome where a user would: the bot's API for statuses, the emulator's call for who heard what.
"""

from __future__ import annotations

from typing import Any

from bot.demo.context import DemoContext, Step, StepFailed
from bot.media.dtmf import to_keys

INTERPRETER = "+14255550199"
CALLER_ID = "+14255550100"
OBSERVER_NOTICE = "You are observing this consultation."
INTERPRETER_JOINED = "An interpreter has joined the call."
DIALOUT_KEY = "telehealth-visit-interpreter-1"


def _texts(entry: dict[str, Any]) -> list[str]:
    return [str(source.get("text", {}).get("text")) for source in entry.get("sources", [])]


async def _media(ctx: DemoContext) -> list[dict[str, Any]]:
    call = await ctx.emulator_call()
    return list(call.get("media", [])) if call else []


async def observer_notice(ctx: DemoContext) -> str:
    body = {"text": OBSERVER_NOTICE, "to": {"roles": ["Consumer"]}}
    created = await ctx.bot_request(
        "POST", f"/api/rooms/{ctx.room}/announcements", ctx.backend_key, expect=202, json=body
    )
    path = f"/api/announcements/{created['id']}"

    async def completed() -> dict[str, Any] | None:
        status = await ctx.bot_request("GET", path, ctx.backend_key, expect=200)
        if status["status"] == "failed":
            raise StepFailed(f"the announcement failed: {status.get('result')}")
        return status if status["status"] == "completed" else None

    await ctx.wait_until("the announcement to the observer completes", completed)
    plays = [entry for entry in await _media(ctx) if OBSERVER_NOTICE in _texts(entry)]
    heard_by = plays[0]["to"] if len(plays) == 1 else None
    if heard_by != [ctx.users["observer"]]:
        raise StepFailed(f"expected one play to the observer only, the emulator shows {plays}")
    return f'only the observer heard "{OBSERVER_NOTICE}" (addressed by role Consumer)'


async def interpreter_phone(ctx: DemoContext) -> str:
    behaviour = {"answer": "accept", "answerAfterSeconds": 2, "dtmf": [{"afterSeconds": 3, "tones": "1"}]}
    await ctx.emulator_request("PUT", f"/emulator/phones/{INTERPRETER}", json=behaviour)
    return f"interpreter's phone {INTERPRETER} will answer after 2 s and press 1 (emulator phones)"


async def interpreter_dialout(ctx: DemoContext) -> str:
    body = {
        "phoneNumber": INTERPRETER,
        "callerId": CALLER_ID,
        "confirmWithDtmf": True,
        "announcement": INTERPRETER_JOINED,
    }
    headers = {"Idempotency-Key": DIALOUT_KEY}
    path = f"/api/rooms/{ctx.room}/dialouts"
    first = await ctx.bot_request("POST", path, ctx.backend_key, expect=202, json=body, headers=headers)
    repeat = await ctx.bot_request("POST", path, ctx.backend_key, expect=200, json=body, headers=headers)
    if repeat["id"] != first["id"]:
        raise StepFailed(f"a retried trigger made a second dial-out: {first['id']} then {repeat['id']}")
    ctx.dialout_id = str(first["id"])
    return (
        f"backend asked for an interpreter at {INTERPRETER} (dial-out {first['status']}); "
        "its retry got the same dial-out"
    )


async def interpreter_confirmed(ctx: DemoContext) -> str:
    path = f"/api/dialouts/{ctx.dialout_id}"

    async def confirmed() -> dict[str, Any] | None:
        status = await ctx.bot_request("GET", path, ctx.backend_key, expect=200)
        if status["status"] in {"declined", "failed", "cancelled"}:
            raise StepFailed(f"the dial-out ended {status['status']}: {status.get('result')}")
        return status if status["status"] == "confirmed" else None

    await ctx.wait_until("the interpreter confirms with DTMF", confirmed)
    raw_id = f"4:{INTERPRETER}"
    menus = [e for e in await _media(ctx) if e.get("kind") == "recognize" and e.get("to") == [raw_id]]
    keys = to_keys(menus[-1].get("tones") or []) if menus else "nothing"
    invitations = await ctx.emulator_request("GET", f"/emulator/invitations?roomId={ctx.room}")
    if len(invitations) != 1:
        raise StepFailed(f"expected one invitation, the emulator shows {len(invitations)}")
    return f"interpreter answered and pressed {keys} in the confirmation menu: confirmed (one invitation)"


async def interpreter_announced(ctx: DemoContext) -> str:
    async def played() -> dict[str, Any] | None:
        plays = [e for e in await _media(ctx) if INTERPRETER_JOINED in _texts(e)]
        return plays[0] if plays and plays[0]["status"] == "completed" else None

    entry = await ctx.wait_until("the room hears that the interpreter joined", played)
    return f'everyone heard "{INTERPRETER_JOINED}" (to {entry["to"]})'


MEDIA_STEPS: tuple[Step, ...] = (
    Step("announcement to the observer", observer_notice),
    Step("interpreter's phone", interpreter_phone),
    Step("interpreter dial-out", interpreter_dialout),
    Step("interpreter confirms", interpreter_confirmed),
    Step("interpreter announced", interpreter_announced),
)
