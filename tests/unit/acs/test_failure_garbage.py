"""A failed ACS action leaves nothing for the cyclic garbage collector: the SDK's error, its
traceback and their frames are freed as soon as nobody holds the facade's domain error."""

from __future__ import annotations

import base64
import gc
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from azure.core.exceptions import HttpResponseError

from bot.acs import AcsFacade, AcsNotFound
from bot.testing.serving import IsolatedSettings

ACCESS_KEY = base64.b64encode(b"failure-garbage-test-access-key!").decode()


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The cyclic collector off, and the facade's warnings not recorded: a captured log record
    holds the error it was given, as any handler that keeps records would."""
    facade_log = logging.getLogger("roombot.bot.acs.facade")
    level = facade_log.level
    facade_log.setLevel(logging.ERROR)
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        facade_log.setLevel(level)


def sdk_errors_alive() -> int:
    return sum(1 for found in gc.get_objects() if isinstance(found, HttpResponseError))


async def test_a_refused_action_leaves_no_reference_cycle(aiohttp_server: Any, collector_off: None) -> None:
    async def not_found(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "8522", "message": "Call not found."}}, status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", not_found)
    server = await aiohttp_server(app)
    endpoint = str(server.make_url("")).rstrip("/")
    settings = IsolatedSettings(
        acs_connection_string=f"endpoint={endpoint}/;accesskey={ACCESS_KEY}",
        callback_base_url="http://127.0.0.1:9/",
    )
    facade = AcsFacade.from_settings(settings)
    try:
        for _ in range(3):
            with pytest.raises(AcsNotFound) as refused:
                await facade.get_call("gone")
            # The SDK's error is the domain error's cause, with its traceback's lines.
            cause = refused.value.__cause__
            assert isinstance(cause, HttpResponseError)
            assert cause.__traceback__ is not None
            del refused, cause
            # Freed by reference counting alone (the collector is off).
            assert sdk_errors_alive() == 0
    finally:
        await facade.close()
