"""The client's request id, echoed on every answer.

The SDKs send ``x-ms-client-request-id`` (with ``x-ms-return-client-request-id: true``) and ACS
answers with the same value, errors included (recorded live traffic, ``Azure/azure-sdk-assets``:
the Identity and Call Automation answers of the Python, JavaScript and .NET live tests), which is
what a client logs to match an answer to its request.
"""

from __future__ import annotations

from aiohttp import web

CLIENT_REQUEST_ID = "x-ms-client-request-id"


async def echo_client_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """An ``on_response_prepare`` hook of the emulator app."""
    sent = request.headers.get(CLIENT_REQUEST_ID)
    if sent is not None and CLIENT_REQUEST_ID not in response.headers:
        response.headers[CLIENT_REQUEST_ID] = sent
