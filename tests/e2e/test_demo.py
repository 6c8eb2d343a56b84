"""``roombot demo``: the scenario plays through the public APIs and its timeline tells the story;
a step that does not happen is named and the exit status says so."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from pathlib import Path

from bot.demo.runner import run_demo
from bot.demo.scenario import (
    TELEHEALTH,
    Step,
    bot_connected,
    bot_connects,
    end_for_everyone,
    observer_appears,
)
from bot.testing import IsolatedSettings
from tests.support.cli_process import clean_env, run_to_completion

# Guards against a hung child, not expectations about speed.
DEMO_TIMEOUT = 120.0

# One pattern per step of the scenario, in order: what a reader of the timeline learns.
EXPECTED_TIMELINE = [
    r"created users doctor 8:acs:\S+, patient 8:acs:\S+, observer 8:acs:\S+ \(Identity API\)",
    r"created room (?P<room>\d+): doctor Presenter, patient Attendee, observer Consumer; "
    r"PSTN dial-out enabled \(Rooms API\)",
    r"doctor joined the room call \(the first one in: the call starts\)",
    r"patient joined the room call",
    r"bot asked to connect to room (?P=room) \(call \S+, (connecting|connected)\)",
    r"bot connected to room (?P=room) \(call \S+\); participants: doctor, patient",
    r"observer joined the room call",
    r"observer appears in the bot's call; participants: doctor, patient, observer",
    r'only the observer heard "You are observing this consultation." \(addressed by role Consumer\)',
    r"interpreter's phone \+14255550199 will answer after 2 s and press 1 \(emulator phones\)",
    r"backend asked for an interpreter at \+14255550199 \(dial-out ringing\); "
    r"its retry got the same dial-out",
    r"interpreter answered and pressed 1 in the confirmation menu: confirmed \(one invitation\)",
    r'everyone heard "An interpreter has joined the call." \(to everyone\)',
    r"operator ended the call for everyone \(/ops/rooms/(?P=room)/end: ending\)",
    r"call \S+ ended \(disconnected\); it left the live list, the emulator reports no call in room "
    r"(?P=room), and its history holds \d+ events",
]
TIMED = r"\s+\d+\.\d{3}s  "


async def roombot_demo(cwd: Path, **env: str) -> tuple[int, str, str]:
    """Run ``roombot demo`` in ``cwd`` with no ROOMBOT_* setting but ``env``; status, stdout, stderr."""
    command = (sys.executable, "-m", "bot.cli", "demo")
    return await run_to_completion(*command, env=clean_env(**env), cwd=cwd, within=DEMO_TIMEOUT)


def test_the_expected_timeline_covers_every_step() -> None:
    assert len(EXPECTED_TIMELINE) == len(TELEHEALTH)


async def test_demo_plays_every_step_and_exits_0(tmp_path: Path) -> None:
    code, out, err = await roombot_demo(tmp_path)
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == "roombot demo: a telehealth visit, played through the public HTTP APIs"
    timed = [line for line in lines if re.match(TIMED, line)]
    assert re.fullmatch("\n".join(TIMED + pattern for pattern in EXPECTED_TIMELINE), "\n".join(timed)), (
        "\n".join(timed)
    )
    assert re.fullmatch(rf"demo complete: {len(TELEHEALTH)} steps in \d+\.\d{{3}}s", lines[-1])
    # Nothing is left behind: the demo's state lives in memory.
    assert await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == []


async def test_a_refused_request_names_its_step() -> None:
    out = io.StringIO()
    # The bot is in no call of the room, so there is nothing to end.
    steps = [*TELEHEALTH[:2], Step("end for everyone", end_for_everyone), *TELEHEALTH[2:]]
    code = await run_demo(IsolatedSettings(), steps=steps, out=out)
    assert code == 1
    lines = out.getvalue().splitlines()
    assert re.fullmatch(
        TIMED + r"FAILED  end for everyone: POST /ops/rooms/\d+/end answered 404 instead of 202: "
        r"The bot is not in a call of room \d+\.",
        lines[-2],
    )
    assert lines[-1] == "demo failed at step 'end for everyone'"
    # The steps before it happened and are on the timeline; none after it ran.
    assert sum(bool(re.match(TIMED, line)) for line in lines) == 3


async def test_a_call_that_fails_to_connect_is_reported_without_waiting_out_the_timeout() -> None:
    out = io.StringIO()
    # Nobody is in the room's call, so ACS answers the connect and then sends ConnectFailed: the
    # bot's answer to the connect says so.
    steps = [*TELEHEALTH[:2], Step("bot connects", bot_connects), Step("bot connected", bot_connected)]
    code = await run_demo(IsolatedSettings(), steps=steps, wait_seconds=60, out=out)
    assert code == 1
    lines = out.getvalue().splitlines()
    assert re.fullmatch(
        TIMED + r"FAILED  bot connects: POST /api/rooms/\d+/connect answered 409 instead of 202: "
        r"Nobody has joined room \d+ yet.*ConnectFailed 404/8522.*",
        lines[-2],
    )
    assert lines[-1] == "demo failed at step 'bot connects'"


async def test_an_outcome_that_never_comes_names_its_step() -> None:
    out = io.StringIO()
    # The observer never joins, so the bot's call can never list them.
    steps = [*TELEHEALTH[:6], Step("observer appears", observer_appears)]
    code = await run_demo(IsolatedSettings(), steps=steps, wait_seconds=0.5, out=out)
    assert code == 1
    lines = out.getvalue().splitlines()
    assert lines[-2].endswith(
        "FAILED  observer appears: timed out after 0.5s waiting until /ops/calls lists the observer"
    )
    assert lines[-1] == "demo failed at step 'observer appears'"


async def test_an_invalid_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    code, out, err = await roombot_demo(tmp_path, ROOMBOT_PSTN_CALLER_ID="123")
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("roombot demo: error: invalid settings: ROOMBOT_PSTN_CALLER_ID")
