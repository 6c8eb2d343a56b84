"""Helpers for the tests of the review fixes: any method of the SDK's call automation client or
call connection client, sync or async, behind one awaitable call."""

from __future__ import annotations

import asyncio
from typing import Any

from azure.core.exceptions import HttpResponseError

from tests.conformance.call_helpers import AsyncCallAutomation, CallAutomationApi, SyncCallAutomation


async def on_connection(
    api: CallAutomationApi, call_connection_id: str, method: str, *args: Any, **kwargs: Any
) -> Any:
    """Call ``method`` of the official ``CallConnectionClient`` for ``call_connection_id``."""
    if isinstance(api, SyncCallAutomation):
        function = getattr(api.client.get_call_connection(call_connection_id), method)
        return await asyncio.to_thread(function, *args, **kwargs)
    assert isinstance(api, AsyncCallAutomation)
    return await getattr(api.client.get_call_connection(call_connection_id), method)(*args, **kwargs)


async def on_client(api: CallAutomationApi, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``method`` of the official ``CallAutomationClient`` itself."""
    if isinstance(api, SyncCallAutomation):
        return await asyncio.to_thread(getattr(api.client, method), *args, **kwargs)
    assert isinstance(api, AsyncCallAutomation)
    return await getattr(api.client, method)(*args, **kwargs)


def acs_error(exc: HttpResponseError) -> tuple[int | None, str | None]:
    """(HTTP status, ACS error code) of an SDK exception."""
    assert exc.error is not None, exc
    return exc.status_code, exc.error.code
