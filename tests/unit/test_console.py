"""The operator console's pure parts: page cursors, the live feed's bounds, timeline lanes (pages
themselves: tests/unit/test_state_paging.py)."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.acs import AcsUnavailable
from bot.console.feed import LiveFeed
from bot.console.roles import RoleBook
from bot.console.timeline import call_items, participant_items
from bot.problems import ProblemError
from bot.routes.paging import decode_cursor, encode_cursor
from handlers.dialout.model import DialOut, DialOutResult
from handlers.dialout.timeline import item as dialout_item
from tests.support.records import T0, call


@pytest.mark.parametrize("cursor", ["x", "bm90IGpzb24", encode_cursor(call(1))[:-3]])
def test_a_cursor_that_no_page_gave_names_no_page(cursor: str) -> None:
    with pytest.raises(ProblemError) as refused:
        decode_cursor(cursor)
    assert refused.value.status == 404


@pytest.mark.parametrize("cursor", ["not a cursor", "a+b/c=", "x" * 1001])
def test_a_cursor_that_is_no_base64url_text_is_a_bad_request(cursor: str) -> None:
    with pytest.raises(ProblemError) as refused:
        decode_cursor(cursor)
    assert refused.value.status == 400


async def test_a_listener_that_does_not_read_loses_its_oldest_notices() -> None:
    feed = LiveFeed(max_pending=2)
    with feed.listen() as queue:
        for cause in ("a", "b", "c"):
            feed.call_changed("call", None, cause)
        notices = [queue.get_nowait() for _ in range(2)]
        assert [notice["cause"] if notice else None for notice in notices] == ["b", "c"]
    assert feed.listeners == 0


async def test_closing_the_feed_ends_every_stream_even_a_full_one() -> None:
    feed = LiveFeed(max_pending=1)
    with feed.listen() as full, feed.listen() as idle:
        feed.call_changed("call", None, "a")
        feed.close()
        assert full.get_nowait() is None
        assert idle.get_nowait() is None
    with feed.listen() as late:
        assert late.get_nowait() is None


def updated(at: int, ids: list[str], **extra: object) -> dict[str, object]:
    return {
        "type": "ParticipantsUpdated",
        "time": (T0 + timedelta(seconds=at)).isoformat(),
        "participants": ids,
        **extra,
    }


def test_participants_stay_from_the_update_that_lists_them_to_the_one_that_does_not() -> None:
    history = [
        updated(1, ["a"]),
        updated(2, ["a", "b"]),
        updated(3, ["b"], ignored="stale"),
        updated(4, ["b"]),
        updated(6, ["a", "b"]),
    ]
    dated = [(datetime.fromisoformat(str(entry["time"])), entry) for entry in history]
    stays = [
        (i.label, i.start.second, i.end.second if i.end else None) for i in participant_items(dated, call(0))
    ]
    assert stays == [("a", 1, 4), ("b", 2, None), ("a", 6, None)]


def test_the_call_lanes_show_its_end_request_and_recording() -> None:
    record = call(0)
    history = [
        {"type": "CallConnected", "time": (T0 + timedelta(seconds=1)).isoformat()},
        {
            "type": "RecordingStateChanged",
            "time": (T0 + timedelta(seconds=2)).isoformat(),
            "recordingState": "active",
        },
        {
            "type": "RecordingStateChanged",
            "time": (T0 + timedelta(seconds=5)).isoformat(),
            "recordingState": "inactive",
        },
        {
            "id": "r",
            "type": "EndForEveryoneRequested",
            "time": (T0 + timedelta(seconds=6)).isoformat(),
            "requestedBy": "operator",
        },
        {"id": "d", "type": "CallDisconnected", "time": (T0 + timedelta(seconds=7)).isoformat()},
    ]
    items = {item.lane: item for item in call_items(record, history) if item.lane != "end"}
    recording = items["recording"]
    assert [(s.status, s.start.second) for s in recording.segments] == [("active", 2), ("inactive", 5)]
    assert recording.status == "inactive"
    ends = [item for item in call_items(record, history) if item.lane == "end"]
    assert [(item.status, item.label) for item in ends] == [
        ("requested", "end for everyone asked by operator"),
        ("ended", "call ended"),
    ]
    assert len(items["events"].marks) == 5


def test_a_dial_out_shows_each_status_it_went_through() -> None:
    dialout = DialOut(
        id="d1",
        room_id="1000",
        call_connection_id="call-00",
        phone_number="+14255550123",
        caller_id="+14255550100",
        created_at=T0,
        updated_at=T0,
    )
    rung = dialout.invited("inv", "4:+14255550123", T0 + timedelta(seconds=1))
    assert rung is not None
    failed = rung.add_failed(
        DialOutResult(code=486, sub_code=560486, message="busy"), T0 + timedelta(seconds=3)
    )
    assert failed is not None
    shown = dialout_item(failed, [])
    assert [(s.status, s.start.second, s.end.second if s.end else None) for s in shown.segments] == [
        ("pending", 0, 1),
        ("ringing", 1, 3),
        ("failed", 3, None),
    ]
    assert shown.actions == ()
    assert dialout_item(rung, []).actions[0].path == "/ops/dialouts/d1"
    assert "486/560486 busy" in shown.detail


@pytest.mark.parametrize("package", ["bot.console", "emulator.console"])
def test_the_console_files_are_package_data(package: str) -> None:
    """A wheel (and so the Docker image) carries every file the console serves."""
    root = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    folder = root / package.replace(".", "/")
    served = [path.relative_to(folder) for path in (folder / "static").iterdir()]
    assert served
    assert all(any(path.match(pattern) for pattern in patterns[package]) for path in served)


async def test_roles_are_cached_and_a_failed_fetch_keeps_what_was_known() -> None:
    answers: list[dict[str, str] | Exception] = [{"u1": "Presenter"}, AcsUnavailable("down")]
    now = [0.0]

    async def fetch(room_id: str) -> dict[str, str]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    book = RoleBook(fetch, ttl_seconds=30, clock=lambda: now[0])
    assert await book.roles("r") == {"u1": "Presenter"}
    assert await book.roles("r") == {"u1": "Presenter"}
    assert len(answers) == 1
    now[0] = 31.0
    assert await book.roles("r") == {"u1": "Presenter"}
    assert answers == []

    async def refuse(room_id: str) -> dict[str, str]:
        raise AcsUnavailable("down")

    assert await RoleBook(refuse).roles("r") == {}
