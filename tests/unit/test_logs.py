"""roombot's log lines: text or JSON, the call and room a line is about, one `roombot` root."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.dispatch import CallDispatcher
from bot.events import CallEvent, PlayCompleted
from bot.logs import bind_log_context, configure_logging, log_context


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ours = logging.getLogger("roombot").level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("roombot").setLevel(ours)


def test_text_lines_name_the_call_and_room(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("INFO", "text", stream=out)
    log = logging.getLogger("roombot.test")

    log.info("before")
    with log_context(call_connection_id="call-1", room_id="room-1"):
        log.info("inside")
    log.info("after")

    lines = out.getvalue().splitlines()
    assert lines[0].endswith("INFO roombot.test: before")
    assert lines[1].endswith("INFO roombot.test: inside [call=call-1 room=room-1]")
    assert lines[2].endswith("INFO roombot.test: after")


def test_json_lines_are_objects_with_the_ids(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("DEBUG", "json", stream=out)
    log = logging.getLogger("roombot.test")

    with log_context(room_id="room-2"):
        log.debug("one %s", "argument")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")

    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert {k: first[k] for k in ("level", "logger", "message", "roomId")} == {
        "level": "DEBUG",
        "logger": "roombot.test",
        "message": "one argument",
        "roomId": "room-2",
    }
    assert "timestamp" in first
    assert "callConnectionId" not in first
    assert second["level"] == "ERROR"
    assert "ValueError: boom" in second["exc_info"]


def test_the_level_applies_to_roombot_and_others_log_from_warning(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("DEBUG", "text", stream=out)

    logging.getLogger("roombot.bot.anything").debug("ours")
    logging.getLogger("azure.core.pipeline").info("the SDK's request log")
    logging.getLogger("azure.core.pipeline").warning("the SDK's warning")

    text = out.getvalue()
    assert "ours" in text
    assert "request log" not in text
    assert "the SDK's warning" in text


async def test_an_event_and_the_tasks_it_starts_log_with_its_call(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    log = logging.getLogger("roombot.test")
    started: list[asyncio.Task[None]] = []

    async def later() -> None:
        log.info("from a task")

    async def process(event: CallEvent) -> None:
        log.info("before the room is known %s", event.id)
        bind_log_context(room_id=f"room-{event.call_connection_id}")
        log.info("handling %s", event.id)
        started.append(asyncio.create_task(later()))

    dispatcher = CallDispatcher(process)
    with log_context(call_connection_id="an-http-request", room_id="its-room"):
        # Submitted from a request about another call: the workers start from its context.
        dispatcher.submit([PlayCompleted(id="e1", call_connection_id="call-3")])
    dispatcher.submit([PlayCompleted(id="e2", call_connection_id="call-4")])
    await dispatcher.drain()
    log.info("outside")
    await asyncio.gather(*started)

    entries = [json.loads(line) for line in out.getvalue().splitlines()]
    lines = {entry["message"]: entry for entry in entries}
    for event_id, call in (("e1", "call-3"), ("e2", "call-4")):
        assert lines[f"handling {event_id}"]["callConnectionId"] == call
        assert lines[f"handling {event_id}"]["roomId"] == f"room-{call}"
        assert lines[f"before the room is known {event_id}"]["callConnectionId"] == call
        assert "roomId" not in lines[f"before the room is known {event_id}"]
    tasks = [entry for entry in entries if entry["message"] == "from a task"]
    assert sorted((t["callConnectionId"], t["roomId"]) for t in tasks) == [
        ("call-3", "room-call-3"),
        ("call-4", "room-call-4"),
    ]
    assert "callConnectionId" not in lines["outside"]
    assert "roomId" not in lines["outside"]
