"""A callback the emulator cannot deliver is logged as about its call connection, so the bot's
log formats tag the line with it like every other line about the call."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from emulator.clock import Clock
from emulator.delivery.callbacks import CallbackDispatcher, RetryPolicy
from tests.support.processes import free_port


async def test_every_line_about_a_failed_callback_names_its_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatcher = CallbackDispatcher(
        token=lambda: "token", clock=Clock(), policy=RetryPolicy(backoff_seconds=(0.0,), timeout_seconds=2.0)
    )
    url = f"http://127.0.0.1:{free_port()}/api/callbacks"  # nobody listens there
    async with aiohttp.ClientSession() as session:
        dispatcher.session = session
        with caplog.at_level(logging.INFO, logger="roombot.emulator.delivery.callbacks"):
            dispatcher.submit(url, "connection-1", {"type": "Microsoft.Communication.CallConnected"})
            await dispatcher.drain()
        await dispatcher.close()

    lines = [(record.getMessage(), getattr(record, "call_connection_id", None)) for record in caplog.records]
    assert [message for message, _ in lines if "failed (attempt" in message], lines  # both attempts
    assert any("dropped after 2 attempts" in message for message, _ in lines), lines
    assert {connection for _, connection in lines} == {"connection-1"}
