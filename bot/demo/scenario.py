"""The telehealth scenario of `roombot demo`, as a list of steps over the public HTTP APIs only.

Each step is an async function of the shared `DemoContext` that does one thing a user of the
product would do (create a room, join it, ask the bot to connect, end the call...) or waits until
the product shows the outcome, and returns the line the timeline prints. A step that cannot
happen raises `StepFailed`. Later parts of the scenario (interpreter dial-out confirmed by DTMF,
targeted announcement) are in `bot.demo.media`.
"""

from __future__ import annotations

from typing import Any

from azure.communication.rooms import CommunicationUserIdentifier, ParticipantRole, RoomParticipant

from bot.demo.context import DemoContext, Step, StepFailed
from bot.demo.media import MEDIA_STEPS
from bot.demo.timeline import short_id

# Who is in the visit, with the room role each one gets.
CAST: tuple[tuple[str, ParticipantRole], ...] = (
    ("doctor", ParticipantRole.PRESENTER),
    ("patient", ParticipantRole.ATTENDEE),
    ("observer", ParticipantRole.CONSUMER),
)


async def create_users(ctx: DemoContext) -> str:
    for name, _role in CAST:
        user = await ctx.identity.create_user()
        ctx.users[name] = user.raw_id
    listed = ", ".join(f"{name} {short_id(raw_id)}" for name, raw_id in ctx.users.items())
    return f"created users {listed} (Identity API)"


async def create_room(ctx: DemoContext) -> str:
    participants = [
        RoomParticipant(communication_identifier=CommunicationUserIdentifier(ctx.users[name]), role=role)
        for name, role in CAST
    ]
    room = await ctx.rooms.create_room(pstn_dial_out_enabled=True, participants=participants)
    if not room.id or not room.pstn_dial_out_enabled:
        raise StepFailed(f"the Rooms API answered a room without id or PSTN dial-out: {room.id!r}")
    ctx.room_id = room.id
    roles = ", ".join(f"{name} {role.value}" for name, role in CAST)
    return f"created room {room.id}: {roles}; PSTN dial-out enabled (Rooms API)"


def joins(name: str) -> Step:
    async def run(ctx: DemoContext) -> str:
        started = not await ctx.emulator_has_call()
        await ctx.join(name)
        return f"{name} joined the room call" + (" (the first one in: the call starts)" if started else "")

    return Step(f"{name} joins", run)


async def bot_connects(ctx: DemoContext) -> str:
    body = await ctx.bot_request("POST", f"/api/rooms/{ctx.room}/connect", ctx.backend_key, expect=202)
    ctx.call_connection_id = str(body["callConnectionId"])
    return f"bot asked to connect to room {ctx.room} (call {short_id(ctx.call)}, {body['status']})"


def _has(call: dict[str, Any] | None, ctx: DemoContext, names: list[str]) -> bool:
    if call is None:
        return False
    present = {p.get("rawId") for p in call.get("participants", [])}
    return all(ctx.users[name] in present for name in names)


async def _fail_if_ended(ctx: DemoContext) -> None:
    """Stop waiting for a call that is over (ConnectFailed, say): it will never show up."""
    detail = await ctx.bot_request("GET", f"/ops/calls/{ctx.call}", ctx.ops_key, expect=200)
    if detail.get("endedAt") is None:
        return
    last = detail["events"][-1] if detail.get("events") else {}
    codes = "/".join(str(last[key]) for key in ("resultCode", "resultSubCode") if key in last)
    raise StepFailed(
        f"the bot's call is {detail['state']} after {last.get('type', 'no event')} {codes}".rstrip()
    )


async def bot_connected(ctx: DemoContext) -> str:
    async def connected() -> dict[str, Any] | None:
        call = await ctx.live_call()
        if call is None:
            await _fail_if_ended(ctx)
            return None
        ready = call["state"] == "connected" and _has(call, ctx, ["doctor", "patient"])
        return call if ready else None

    call = await ctx.wait_until("/ops/calls shows the call connected with doctor and patient", connected)
    return (
        f"bot connected to room {ctx.room} (call {short_id(ctx.call)}); "
        f"participants: {ctx.participant_names(call)}"
    )


async def observer_appears(ctx: DemoContext) -> str:
    async def listed() -> dict[str, Any] | None:
        call = await ctx.live_call()
        return call if _has(call, ctx, ["observer"]) else None

    call = await ctx.wait_until("/ops/calls lists the observer", listed)
    return f"observer appears in the bot's call; participants: {ctx.participant_names(call)}"


async def end_for_everyone(ctx: DemoContext) -> str:
    body = await ctx.bot_request("POST", f"/ops/rooms/{ctx.room}/end", ctx.ops_key, expect=202)
    return f"operator ended the call for everyone (/ops/rooms/{ctx.room}/end: {body['status']})"


async def call_gone(ctx: DemoContext) -> str:
    async def gone() -> bool | None:
        return (await ctx.live_call() is None and not await ctx.emulator_has_call()) or None

    await ctx.wait_until("the call leaves /ops/calls and the emulator reports no call", gone)
    detail = await ctx.bot_request("GET", f"/ops/calls/{ctx.call}", ctx.ops_key, expect=200)
    kinds = [str(event.get("type")) for event in detail.get("events", [])]
    if "CallDisconnected" not in kinds:
        raise StepFailed(f"the call's history has no CallDisconnected: {kinds}")
    return (
        f"call {short_id(ctx.call)} ended ({detail['state']}); it left the live list, the emulator "
        f"reports no call in room {ctx.room}, and its history holds {len(kinds)} events"
    )


__all__ = ["TELEHEALTH", "Step"]

TELEHEALTH: tuple[Step, ...] = (
    Step("create users", create_users),
    Step("create room", create_room),
    joins("doctor"),
    joins("patient"),
    Step("bot connects", bot_connects),
    Step("bot connected", bot_connected),
    joins("observer"),
    Step("observer appears", observer_appears),
    *MEDIA_STEPS,
    Step("end for everyone", end_for_everyone),
    Step("call ended", call_gone),
)
