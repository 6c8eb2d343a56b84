"""A minimal stand-in for ACS in the load process: the callback signing key, and Call Automation
and Rooms endpoints that answer at once and note when each request arrived (a connect is
answered with a new call, connecting).

The ingestion, latency and scale benchmarks point the server under test at it instead of at the
emulator, for two reasons. The emulator simulates calls (timers, media, deliveries), and its CPU
would run on the same two cores as the server measured; and what the latency benchmark needs is
the moment the bot's next request reaches ACS, which only the receiving end can note. Callback
tokens are minted with the emulator's `CallbackSigner` (RS256, a fresh ``jti`` and the real
service's issuer, as ACS signs them) and its key is published the way ACS publishes its own: an
OpenID configuration naming a JWKS.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bench.common import serve
from emulator.config import ACS_CALLBACK_ISSUER, DEV_ACCESS_KEY, DEV_RESOURCE_ID
from emulator.delivery.signing import OPENID_PATH, CallbackSigner, key_routes
from emulator.urls import PublicUrl

CALLS_PREFIX = "/calling/callConnections/"
TOKEN_LIFETIME_SECONDS = 300
ROOM_VALIDITY = timedelta(hours=4)


@dataclass(frozen=True)
class Arrival:
    """One request that reached the fake ACS: when (``time.perf_counter()``) and what."""

    at: float
    method: str
    action: str
    operation_context: str | None


@dataclass
class FakeAcs:
    url: str
    signer: CallbackSigner
    # Call connection id → requests about that call, in arrival order.
    arrivals: dict[str, list[Arrival]] = field(default_factory=lambda: defaultdict(list))
    # Call connection id → raw ids ``GET .../participants`` lists.
    participants: dict[str, list[str]] = field(default_factory=dict)

    @property
    def connection_string(self) -> str:
        return f"endpoint={self.url}/;accesskey={DEV_ACCESS_KEY}"

    @property
    def openid_url(self) -> str:
        return self.url + OPENID_PATH

    def token(self) -> str:
        """A fresh callback token, as ACS puts on each delivery."""
        return self.signer.mint(
            issuer=ACS_CALLBACK_ISSUER,
            audience=DEV_RESOURCE_ID,
            now=datetime.now(UTC),
            lifetime_seconds=TOKEN_LIFETIME_SECONDS,
        )

    def bot_settings(self, **overrides: Any) -> dict[str, Any]:
        """The Settings fields wiring a bot to this fake (the server adds its own callback URL)."""
        return {
            "acs_connection_string": self.connection_string,
            "acs_resource_id": DEV_RESOURCE_ID,
            "acs_openid_url": self.openid_url,
            "cognitive_services_endpoint": "https://roombot-bench.cognitiveservices.invalid/",
            "backend_api_keys": [BACKEND_KEY],
            "ops_api_keys": [OPS_KEY],
            "retry_max_attempts": 3,
            "retry_max_seconds": 5,
            "retry_backoff_base": 0.01,
            "retry_backoff_max": 0.05,
            "retry_jitter": 0,
            **overrides,
        }


BACKEND_KEY = "roombot-bench-backend-key-0123456789"
OPS_KEY = "roombot-bench-operator-key-0123456789"


def _app(fake: FakeAcs, public: PublicUrl) -> web.Application:
    async def call_request(request: web.Request) -> web.Response:
        at = time.perf_counter()
        tail = request.path.removeprefix(CALLS_PREFIX)
        call_id, _, action = tail.partition(":")
        call_id, _, sub = call_id.partition("/")
        body: dict[str, Any] = {}
        if request.can_read_body:
            read = await request.json()
            body = read if isinstance(read, dict) else {}
        context = body.get("operationContext")
        fake.arrivals[call_id].append(
            Arrival(at, request.method, action or sub, context if isinstance(context, str) else None)
        )
        if sub == "participants" and request.method == "GET":
            listed = [
                {"identifier": {"rawId": raw_id, "communicationUser": {"id": raw_id}}, "isMuted": False}
                for raw_id in fake.participants.get(call_id, [])
            ]
            return web.json_response({"value": listed})
        if action:
            return web.Response(status=202)
        return web.json_response({"callConnectionId": call_id, "callConnectionState": "connected"})

    async def connect(request: web.Request) -> web.Response:
        # As ACS answers a connect (REST spec, and recordings of live tests): 200, the new call
        # connecting, no serverCallId yet (it comes with CallConnected).
        body = await request.json()
        call_id = str(uuid.uuid4())
        fake.arrivals[call_id].append(Arrival(time.perf_counter(), request.method, "connect", None))
        return web.json_response(
            {
                "callConnectionId": call_id,
                "callConnectionState": "connecting",
                "callbackUri": body.get("callbackUri"),
                "correlationId": str(uuid.uuid4()),
                "targets": [],
            }
        )

    async def room_participants(request: web.Request) -> web.Response:
        return web.json_response({"value": []})

    async def room(request: web.Request) -> web.Response:
        # As the Rooms API answers a GET of a room (REST spec, CommunicationRoom): valid for
        # hours from now, so that the bot schedules its end and warning as for any room call.
        now = datetime.now(UTC)
        return web.json_response(
            {
                "id": request.match_info["roomId"],
                "createdAt": now.isoformat(),
                "validFrom": now.isoformat(),
                "validUntil": (now + ROOM_VALIDITY).isoformat(),
                "pstnDialOutEnabled": True,
            }
        )

    app = web.Application()
    app.add_routes(key_routes(fake.signer, ACS_CALLBACK_ISSUER, public))
    app.router.add_post(CALLS_PREFIX.rstrip("/") + ":connect", connect)
    app.router.add_route("*", CALLS_PREFIX + "{tail:.+}", call_request)
    app.router.add_get("/rooms/{roomId}/participants", room_participants)
    app.router.add_get("/rooms/{roomId}", room)
    return app


@asynccontextmanager
async def fake_acs() -> AsyncIterator[FakeAcs]:
    fake = FakeAcs(url="", signer=CallbackSigner())
    # The key routes read the public URL per request: it is known once the port is bound.
    public = PublicUrl("")
    async with serve(_app(fake, public)) as url:
        fake.url = public.value = url
        yield fake
