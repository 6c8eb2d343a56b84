"""Hotkey matching over buffered keys, and how ACS's recognize events read as menu inputs."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import given
from hypothesis import strategies as st

from bot.events import parse_event
from bot.testing import cloud_event
from handlers.menus import engine
from handlers.menus.driver import parse_session_context, session_context
from handlers.menus.handler import recognize_input
from handlers.menus.hotkeys import HotkeyBuffer, listens_to, press

HOTKEYS = ("*0", "*9", "#1")
GAP = 3.0


def feed(keys: Iterable[tuple[str, float]], hotkeys: Iterable[str] = HOTKEYS) -> list[str]:
    """Press ``(key, at)`` in order; the hotkeys matched."""
    buffer = HotkeyBuffer()
    matched = []
    for key, at in keys:
        buffer, hit = press(tuple(hotkeys), buffer, key, at, GAP)
        if hit is not None:
            matched.append(hit)
    return matched


def test_a_sequence_matches_its_hotkey() -> None:
    assert feed([("*", 0), ("0", 1)]) == ["*0"]


def test_a_stray_key_before_the_sequence_does_not_block_it() -> None:
    assert feed([("5", 0), ("1", 0.1), ("*", 0.2), ("0", 0.3)]) == ["*0"]
    # The tail of a broken sequence can start the next one.
    assert feed([("*", 0), ("#", 0.1), ("1", 0.2)]) == ["#1"]


def test_a_pause_longer_than_the_gap_starts_over() -> None:
    assert feed([("*", 0), ("0", GAP + 0.5)]) == []
    assert feed([("*", 0), ("*", GAP + 0.5), ("9", GAP + 1)]) == ["*9"]


def test_the_buffer_empties_after_a_match() -> None:
    assert feed([("*", 0), ("0", 0.1), ("0", 0.2)]) == ["*0"]
    assert feed([("*", 0), ("0", 0.1), ("*", 0.2), ("0", 0.3)]) == ["*0", "*0"]


def test_lower_case_tones_match() -> None:
    assert feed([("#", 0), ("1", 0)], hotkeys=("#1", "A")) == ["#1"]
    assert feed([("a", 0)], hotkeys=("A",)) == ["A"]


@given(st.lists(st.sampled_from("0123456789*#"), max_size=30))
def test_the_buffer_only_holds_the_start_of_some_hotkey(keys: list[str]) -> None:
    buffer = HotkeyBuffer()
    for at, key in enumerate(keys):
        buffer, hit = press(HOTKEYS, buffer, key, at * 0.1, GAP)
        assert buffer.keys == "" or any(hotkey.startswith(buffer.keys) for hotkey in HOTKEYS)
        assert hit is None or hit in HOTKEYS


def test_who_is_listened_to() -> None:
    assert listens_to("4:+14255550123", "pstn")
    assert not listens_to("8:acs:resource_user", "pstn")
    assert listens_to("8:acs:resource_user", "all")


def test_session_contexts_round_trip_and_others_are_not_sessions() -> None:
    assert parse_session_context(session_context("abc", 3)) == ("abc", 3)
    assert parse_session_context("menus:hotkeys:4:+14255550123") is None
    assert parse_session_context("menus:abc:act2-0") is None
    assert parse_session_context("announcements:abc:1") is None
    assert parse_session_context(None) is None


def recognize(event_type: str, data: dict[str, object]) -> engine.Input:
    return recognize_input(parse_event(cloud_event("call-1", event_type, data)))


def result(code: int, sub_code: int) -> dict[str, object]:
    return {"resultInformation": {"code": code, "subCode": sub_code, "message": "x"}}


def test_recognize_events_as_menu_inputs() -> None:
    completed = {
        "recognitionType": "dtmf",
        "dtmfResult": {"tones": ["one", "two", "pound"]},
        **result(200, 8514),
    }
    assert recognize("RecognizeCompleted", completed) == engine.Keys("12#")
    assert recognize("RecognizeFailed", result(400, 8510)) == engine.NoInput()
    assert recognize("RecognizeFailed", result(400, 8532)) == engine.InterDigitTimeout("")
    with_keys = {"dtmfResult": {"tones": ["four"]}, **result(400, 8532)}
    assert recognize("RecognizeFailed", with_keys) == engine.InterDigitTimeout("4")
    assert recognize("RecognizeFailed", result(500, 8511)) == engine.PromptFailed()
    assert recognize("RecognizeCanceled", result(400, 8508)) == engine.Interrupted()
    # A tone the bot does not know is an entry that matches no option.
    assert recognize("RecognizeCompleted", {"dtmfResult": {"tones": ["flash"]}}) == engine.Keys("?")
