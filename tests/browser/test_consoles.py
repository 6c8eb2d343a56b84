"""Both consoles in a real browser, against a real bot on a real emulator.

The operator console is opened before the call exists and never reloaded: the call appears, its
menu advances and it leaves the list through the live feed alone. Keys are pressed on the
emulator console, as a person playing the call would.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.testing import BACKEND_KEY, OPS_KEY, RoomBot, eventually
from emulator.config import EmulatorConfig

pytest.importorskip("playwright.async_api", reason="playwright is not installed (pip install -e '.[test]')")

# After the skip: without playwright the module is skipped, with the reason, before these run.
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import VIEWPORT

# Simulated time 10x faster than real: ringing and prompts are short, while a menu's first-digit
# timeout (below) stays long enough for a browser to click.
TIME_SCALE = 0.1
MENUS = """
menus:
  check-in:
    prompt: "Press 1 if you can hear us."
    options:
      "1": [{announce: "Thank you, we hear you too."}]
    firstDigitTimeoutSeconds: 200
    maxTries: 1
"""
# Generous for a loaded CI machine; expectations pass as soon as the page shows the thing.
TIMEOUT_MS = 15_000


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[RoomBot]:
    menus = tmp_path / "menus.yaml"
    menus.write_text(MENUS, encoding="utf-8")
    recording = {"recording": {"consent": "This call is recorded."}}
    async with RoomBot.start(
        EmulatorConfig(time_scale=TIME_SCALE), menus_file=menus, handlers=recording
    ) as harness:
        yield harness


async def open_page(browser: Browser, url: str) -> Page:
    page = await browser.new_page(viewport=VIEWPORT)
    await page.goto(url)
    return page


async def sign_in(page: Page, key: str, *, keyboard: bool = False) -> None:
    await page.get_by_label("Ops API key").fill(key)
    if keyboard:
        await page.get_by_label("Ops API key").press("Enter")
    else:
        await page.get_by_role("button", name="Sign in").click()


def tail(raw_id: str) -> str:
    """How both consoles shorten a user's raw id."""
    return raw_id.split("_")[-1][-6:]


async def test_an_operator_watches_a_call_live_plays_a_menu_and_ends_it(
    browser: Browser, bot: RoomBot, screenshots: Path
) -> None:
    console = await open_page(browser, f"{bot.url}/console")

    await sign_in(console, "not-an-ops-key")
    await expect(console.get_by_role("alert")).to_contain_text("Refused", timeout=TIMEOUT_MS)
    await expect(console.get_by_role("table")).to_be_hidden()
    await sign_in(console, BACKEND_KEY)
    await expect(console.get_by_role("alert")).to_contain_text("backend key", timeout=TIMEOUT_MS)

    await sign_in(console, OPS_KEY, keyboard=True)
    await expect(console.locator("#live")).to_have_text("Live", timeout=TIMEOUT_MS)
    await expect(console.get_by_text("No live calls.")).to_be_visible()

    # The call starts after the page has loaded: it shows up through the live feed.
    room = await bot.create_room(["Presenter", "Attendee"])
    presenter, attendee = room.members
    await bot.join(room.id, presenter)
    call_id = str((await bot.connect(room.id))["callConnectionId"])
    row = console.get_by_role("row").filter(has_text=room.id)
    await expect(row).to_be_visible(timeout=TIMEOUT_MS)
    await expect(row).to_contain_text("connected")
    await expect(row).to_contain_text("Presenter")
    await bot.join(room.id, attendee)
    await expect(row).to_contain_text("Attendee", timeout=TIMEOUT_MS)
    # Filtered by room: another room's prefix hides it, its own shows it.
    other = "9" if not room.id.startswith("9") else "1"
    await console.get_by_label("Room", exact=True).fill(other)
    await expect(row).to_have_count(0, timeout=TIMEOUT_MS)
    await console.get_by_label("Room", exact=True).fill(room.id[:6])
    await expect(row).to_be_visible(timeout=TIMEOUT_MS)

    await console.get_by_role("button", name=f"Timeline of the call in room {room.id}").click()
    await expect(console.get_by_role("heading", name=f"Call in room {room.id}")).to_be_focused()
    await expect(console.locator("#timeline .lane-participants")).to_have_count(2, timeout=TIMEOUT_MS)

    # A menu for the attendee, after the confirmation step.
    await console.get_by_role("button", name="Start a menu…").click()
    dialog = console.get_by_role("dialog")
    await dialog.get_by_label("Participant").select_option(attendee)
    await dialog.get_by_label("Menu").select_option("check-in")
    await dialog.get_by_role("button", name="Start menu").click()
    await expect(console.locator("#action-result")).to_contain_text("Menu: done, 202", timeout=TIMEOUT_MS)
    menu_line = console.locator("#happenings li[data-lane=menus]")
    await expect(menu_line).to_contain_text("running", timeout=TIMEOUT_MS)

    # The attendee presses 1 on the emulator console, once the emulator asks for keys.
    emulator = await open_page(browser, f"{bot.emulator.url}/emulator/console")
    media = emulator.get_by_role("list", name=f"Media log of room {room.id}")
    await expect(media).to_contain_text("was asked for keys", timeout=TIMEOUT_MS)
    await emulator.get_by_role("button", name=re.compile(rf"^Press 1 as .*{tail(attendee)}")).click()
    await expect(media).to_contain_text("pressed 1", timeout=TIMEOUT_MS)
    await expect(media).to_contain_text("heard “Thank you, we hear you too.”", timeout=TIMEOUT_MS)

    # ... and the operator's timeline advances by itself.
    await expect(menu_line).to_contain_text("pressed 1", timeout=TIMEOUT_MS)
    await expect(menu_line).to_contain_text("completed", timeout=TIMEOUT_MS)
    announcement = console.locator("#happenings li[data-lane=announcements]")
    await expect(announcement).to_contain_text("completed", timeout=TIMEOUT_MS)
    await console.screenshot(path=str(screenshots / "operator-console.png"), full_page=True)
    await emulator.screenshot(path=str(screenshots / "emulator-console.png"), full_page=True)

    # The backend records the call; the operator stops the recording from the console.
    started = await bot.request("POST", f"/api/rooms/{room.id}/recording/start", key=BACKEND_KEY)
    assert started.status == 202, started.text

    async def recording_is(*statuses: str) -> dict[str, object] | None:
        reply = await bot.request("GET", f"/ops/calls/{call_id}/recording", key=OPS_KEY)
        return reply.body if reply.status == 200 and reply.body["status"] in statuses else None

    await eventually(lambda: recording_is("active"), what="the recording to run")
    await console.get_by_role("button", name="Stop recording…").click()
    await console.get_by_role("dialog").get_by_role("button", name="Stop recording").click()
    await expect(console.locator("#action-result")).to_contain_text(
        "Stop recording: done, 202", timeout=TIMEOUT_MS
    )
    await eventually(lambda: recording_is("stopped"), what="the recording to stop")

    # End for everyone: cancelling the confirmation (Escape) does nothing; confirming ends the call.
    await console.get_by_role("button", name="End for everyone…").click()
    await expect(console.get_by_role("dialog")).to_be_visible()
    await console.keyboard.press("Escape")
    await expect(console.get_by_role("dialog")).to_be_hidden()
    await expect(row).to_be_visible()
    await console.get_by_role("button", name="End for everyone…").click()
    await console.get_by_role("dialog").get_by_role("button", name="End for everyone").click()
    await expect(row).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(console.get_by_text("No live calls.")).to_be_visible()
    summary = console.locator("#detail-summary")
    await expect(summary).to_contain_text("This call has ended", timeout=TIMEOUT_MS)
    await expect(console.locator("#happenings li[data-lane=end]").first).to_contain_text("asked by operator")
    assert await bot.calls() == []
    await expect(emulator.get_by_text("No call is running.")).to_be_visible(timeout=TIMEOUT_MS)


async def test_a_person_plays_a_room_call_on_the_emulator_console(browser: Browser, bot: RoomBot) -> None:
    room = await bot.create_room(["Presenter", "Consumer"], pstn_dial_out_enabled=True)
    presenter, observer = room.members
    emulator = await open_page(browser, f"{bot.emulator.url}/emulator/console")
    await expect(emulator.locator("#live")).to_have_text("Live", timeout=TIMEOUT_MS)
    roster = emulator.get_by_role("table", name=f"Roster of room {room.id}")

    # Join from the console: the first one in starts the call.
    await roster.get_by_role("button", name=re.compile(rf"^Join: .*{tail(presenter)}")).click()
    participants = emulator.get_by_role("list", name=f"Participants of room {room.id}")
    await expect(participants).to_contain_text("Presenter", timeout=TIMEOUT_MS)
    await bot.connect(room.id)
    await roster.get_by_role("button", name=re.compile(rf"^Join: .*{tail(observer)}")).click()
    await expect(participants).to_contain_text("Consumer", timeout=TIMEOUT_MS)

    # Script a phone that never answers, then the backend rings it: it shows ringing.
    number = "+14255550142"
    await emulator.get_by_label("Number (E.164)").fill(number)
    await emulator.get_by_label("Answers").select_option("noAnswer")
    await emulator.get_by_role("button", name="Set behaviour").click()
    await expect(emulator.locator("#phone-list")).to_contain_text(f"{number} noAnswer")
    reply = await bot.request(
        "POST",
        f"/api/rooms/{room.id}/dialouts",
        key=BACKEND_KEY,
        json={"phoneNumber": number, "callerId": "+14255550100"},
        headers={"Idempotency-Key": "browser-test-ring"},
    )
    assert reply.status == 202, reply.text
    invitation = emulator.locator("#invitations tbody tr").filter(has_text=number)
    await expect(invitation).to_contain_text("ringing", timeout=TIMEOUT_MS)

    # The operator cancels it from the call's timeline; the phone stops ringing.
    console = await open_page(browser, f"{bot.url}/console")
    await sign_in(console, OPS_KEY)
    await console.get_by_role("button", name=f"Timeline of the call in room {room.id}").click()
    dialout = console.locator("#happenings li[data-lane=dial-outs]")
    await expect(dialout).to_contain_text("ringing", timeout=TIMEOUT_MS)
    await dialout.get_by_role("button", name="Cancel dial-out…").click()
    await console.get_by_role("dialog").get_by_role("button", name="Cancel dial-out").click()
    await expect(dialout).to_contain_text("cancelled", timeout=TIMEOUT_MS)
    await expect(invitation).to_contain_text("cancelled", timeout=TIMEOUT_MS)

    # An announcement to the Consumers only: the media log says who heard it.
    await console.get_by_role("button", name="Announce…").click()
    dialog = console.get_by_role("dialog")
    await dialog.get_by_label("What they hear").fill("You are observing this call.")
    await dialog.get_by_label("Everyone with a role").check()
    await dialog.get_by_label("Role", exact=True).select_option("Consumer")
    await dialog.get_by_role("button", name="Announce").click()
    media = emulator.get_by_role("list", name=f"Media log of room {room.id}")
    heard = media.get_by_role("listitem").filter(has_text="You are observing this call.")
    await expect(heard).to_contain_text("completed", timeout=TIMEOUT_MS)
    await expect(heard).to_contain_text(tail(observer))
    await expect(heard).not_to_contain_text(tail(presenter))

    # The callbacks the emulator sent, with the bot's answers.
    deliveries = emulator.locator("#deliveries")
    await expect(deliveries).to_contain_text("PlayCompleted", timeout=TIMEOUT_MS)
    await expect(deliveries).to_contain_text("200")

    # A participant leaves from the console; the call goes on for the others.
    await roster.get_by_role("button", name=re.compile(rf"^Leave: .*{tail(observer)}")).click()
    await expect(participants).not_to_contain_text("Consumer", timeout=TIMEOUT_MS)
