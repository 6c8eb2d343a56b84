"""The facade's pipeline sends a GET without a body, still signed over the empty body's hash; a
POST without a body keeps its ``Content-Length: 0``."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web
from azure.core.rest import HttpRequest

from bot.acs.sdk import call_automation_client, transport
from emulator.protocol.hmac_auth import content_hash, sign

ACCESS_KEY = base64.b64encode(b"bodiless-reads-test-access-key!!").decode()


async def test_a_get_goes_without_a_body_and_its_signature_holds(aiohttp_server: Any) -> None:
    seen: list[dict[str, Any]] = []

    async def record(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append({"method": request.method, "headers": dict(request.headers), "body": body})
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/calling/probe", record)
    server = await aiohttp_server(app)
    # No trailing slash: the SDK signs the endpoint's host as it is written.
    endpoint = str(server.make_url("")).rstrip("/")
    client = call_automation_client(endpoint, ACCESS_KEY, transport())
    try:
        for method in ("GET", "POST"):
            answer = await client._client.send_request(HttpRequest(method, f"{endpoint}/calling/probe"))
            assert answer.status_code == 200
    finally:
        await client.close()

    get, post = seen
    assert get["method"] == "GET"
    assert get["body"] == b""
    assert "Content-Length" not in get["headers"]
    assert "Transfer-Encoding" not in get["headers"]
    assert post["headers"]["Content-Length"] == "0"
    for request in (get, post):
        headers = request["headers"]
        assert headers["x-ms-content-sha256"] == content_hash(b"")
        expected = sign(
            ACCESS_KEY,
            request["method"],
            "/calling/probe",
            headers["x-ms-date"],
            headers["Host"],
            headers["x-ms-content-sha256"],
        )
        assert headers["Authorization"].endswith(f"&Signature={expected}")
