"""`RoomBot`: an emulator, a bot wired to it, and the calls a test makes against both."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from aiohttp import web
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.communication.rooms import CommunicationUserIdentifier, RoomParticipant
from azure.communication.rooms.aio import RoomsClient
from azure.core.credentials import AzureKeyCredential
from multidict import CIMultiDict

from bot import keys
from bot.handlers import Handler, HandlerFactory
from bot.testing.serving import BACKEND_KEY, OPS_KEY, TIME_SCALE, RunningBot, bot_settings, serve_bot
from emulator.app import mint_callback_token
from emulator.config import EmulatorConfig
from emulator.server import RunningEmulator, start_emulator

T = TypeVar("T")

# Generous, for a loaded CI machine: waits return as soon as their condition holds.
WAIT_TIMEOUT = 10.0
POLL_SECONDS = 0.02
EVENT_PREFIX = "Microsoft.Communication."


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = WAIT_TIMEOUT, what: str = "condition"
) -> T:
    """Await ``probe()`` until it returns something truthy, and return that.

    Raises AssertionError naming ``what`` and the last value seen after ``within`` seconds."""
    last: T | None = None
    try:
        async with asyncio.timeout(within):
            while True:
                last = await probe()
                if last:
                    return last
                await asyncio.sleep(POLL_SECONDS)
    except TimeoutError:
        raise AssertionError(f"timed out after {within}s waiting for {what}; last: {last!r}") from None


async def wait_until(
    condition: Callable[[], T | None], *, within: float = WAIT_TIMEOUT, what: str = "condition"
) -> T:
    """:func:`eventually` for a plain function, e.g. a check of what a handler recorded."""

    async def probe() -> T | None:
        return condition()

    return await eventually(probe, within=within, what=what)


def cloud_event(
    call_connection_id: str,
    event_type: str,
    data: Mapping[str, Any] | None = None,
    *,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A Call Automation callback event as ACS posts it (one element of the array).

    ``event_type`` is the short name ("PlayCompleted"); ``data`` gets the call connection id."""
    subject = f"calling/callConnections/{call_connection_id}"
    return {
        "id": event_id or str(uuid.uuid4()),
        "source": subject,
        "subject": subject,
        "type": EVENT_PREFIX + event_type.removeprefix(EVENT_PREFIX),
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "time": datetime.now(UTC).isoformat(),
        "data": {"callConnectionId": call_connection_id, **(data or {})},
    }


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, read completely: ``body`` is parsed JSON when the answer is JSON; header
    names are case-insensitive."""

    status: int
    headers: Mapping[str, str]
    body: Any
    text: str

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip()


@dataclass(frozen=True)
class CreatedRoom:
    """A room made through the Rooms API; ``members`` in the order of the roles asked for."""

    id: str
    roles: Mapping[str, str]
    valid_until: datetime
    members: list[str] = field(default_factory=list)


class RoomBot:
    """An emulator, a bot wired to it, and the calls a test makes against both."""

    def __init__(self, emulator: RunningEmulator, bot: RunningBot) -> None:
        self.emulator = emulator
        self.bot = bot
        self.http = aiohttp.ClientSession()
        self._emulator_closed = False

    @classmethod
    @asynccontextmanager
    async def start(
        cls,
        emulator_config: EmulatorConfig | None = None,
        *,
        handler_factories: Mapping[str, HandlerFactory] | None = None,
        **settings: Any,
    ) -> AsyncIterator[RoomBot]:
        """Start an emulator and a bot on it; stop both on exit. ``settings`` as `bot_settings`."""
        emulator = await start_emulator(emulator_config or EmulatorConfig(time_scale=TIME_SCALE))
        try:
            bot = await serve_bot(
                lambda url: bot_settings(emulator, url, **settings), handler_factories=handler_factories
            )
        except BaseException:
            await emulator.close()
            raise
        harness = cls(emulator, bot)
        try:
            yield harness
        finally:
            await harness.close()

    @property
    def url(self) -> str:
        return self.bot.url

    @property
    def app(self) -> web.Application:
        return self.bot.app

    def handler(self, name: str) -> Handler:
        """The running instance of a handler, to look at what it recorded."""
        found = self.bot.app[keys.HANDLERS].get(name)
        if found is None:
            raise KeyError(f"the bot runs no handler named {name!r}")
        return found

    async def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        base: str | None = None,
    ) -> Reply:
        """Call the bot (or ``base``, e.g. the emulator's URL) with ``Authorization: Bearer key``."""
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        url = f"{base or self.url}{path}"
        async with self.http.request(method, url, json=json, data=data, headers=sent) as response:
            text = await response.text()
            body: Any = None
            if "json" in response.content_type:
                with suppress(ValueError):
                    body = await response.json(content_type=None)
            return Reply(response.status, CIMultiDict(response.headers), body, text)

    # Users, rooms and participants.

    def _credential(self) -> AzureKeyCredential:
        return AzureKeyCredential(self.emulator.config.access_key)

    async def create_users(self, count: int = 1) -> list[str]:
        """New communication users (Identity API); their raw ids."""
        async with CommunicationIdentityClient(self.emulator.url, self._credential()) as identity:
            return [(await identity.create_user()).raw_id for _ in range(count)]

    async def create_room(
        self,
        roles: Sequence[str] = ("Presenter",),
        *,
        valid_for: timedelta = timedelta(hours=1),
        pstn_dial_out_enabled: bool = False,
    ) -> CreatedRoom:
        """A room open from now for ``valid_for``, with one new user per role (Rooms API)."""
        members = await self.create_users(len(roles))
        participants = [
            RoomParticipant(communication_identifier=CommunicationUserIdentifier(raw_id), role=role)
            for raw_id, role in zip(members, roles, strict=True)
        ]
        now = datetime.now(UTC)
        async with RoomsClient(self.emulator.url, self._credential()) as rooms:
            room = await rooms.create_room(
                valid_from=now,
                valid_until=now + valid_for,
                pstn_dial_out_enabled=pstn_dial_out_enabled,
                participants=participants,
            )
        return CreatedRoom(str(room.id), dict(zip(members, roles, strict=True)), room.valid_until, members)

    def _participant_url(self, room_id: str, raw_id: str, action: str) -> str:
        return f"/emulator/rooms/{room_id}/participants/{quote(raw_id, safe='')}:{action}"

    async def join(self, room_id: str, raw_id: str) -> str:
        """A roster member joins the room's call (the first one starts it); the server call id."""
        reply = await self.request(
            "POST", self._participant_url(room_id, raw_id, "join"), base=self.emulator.url
        )
        if reply.status != 200:
            raise AssertionError(f"join of {raw_id} to room {room_id} failed: {reply.status} {reply.text}")
        return str(reply.body["serverCallId"])

    async def leave(self, room_id: str, raw_id: str) -> None:
        reply = await self.request(
            "POST", self._participant_url(room_id, raw_id, "leave"), base=self.emulator.url
        )
        if reply.status != 204:
            raise AssertionError(f"leave of {raw_id} from room {room_id} failed: {reply.status} {reply.text}")

    async def emulator_call(self, room_id: str) -> dict[str, Any] | None:
        """The room's call as the emulator sees it, or None when no call runs."""
        reply = await self.request("GET", f"/emulator/rooms/{room_id}/call", base=self.emulator.url)
        return reply.body if reply.status == 200 else None

    # The bot's view.

    async def calls(self) -> list[dict[str, Any]]:
        """``GET /ops/calls``: the bot's live calls."""
        reply = await self.request("GET", "/ops/calls", key=OPS_KEY)
        assert reply.status == 200, reply.text
        return list(reply.body)

    async def call(self, call_connection_id: str) -> dict[str, Any] | None:
        """``GET /ops/calls/{id}``: one call with its event history, or None if unknown."""
        reply = await self.request("GET", f"/ops/calls/{call_connection_id}", key=OPS_KEY)
        return reply.body if reply.status == 200 else None

    async def wait_for_calls(
        self, predicate: Callable[[list[dict[str, Any]]], bool], *, within: float = WAIT_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Poll ``/ops/calls`` until ``predicate(calls)`` holds; return those calls."""

        async def check() -> tuple[list[dict[str, Any]]] | None:
            calls = await self.calls()
            # Wrapped: an empty list that satisfies the predicate is still an answer.
            return (calls,) if predicate(calls) else None

        return (await eventually(check, within=within, what="/ops/calls"))[0]

    async def wait_for_call(
        self,
        call_connection_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        within: float = WAIT_TIMEOUT,
    ) -> dict[str, Any]:
        """Poll ``/ops/calls/{id}`` until ``predicate(call)`` holds; return the call."""

        async def check() -> dict[str, Any] | None:
            call = await self.call(call_connection_id)
            return call if call is not None and predicate(call) else None

        return await eventually(check, within=within, what=f"call {call_connection_id}")

    async def connect(self, room_id: str) -> dict[str, Any]:
        """Ask the bot to join the room's call and wait until it is ``connected`` with its
        participants known; the call as ``/ops/calls/{id}`` shows it."""
        reply = await self.request("POST", f"/api/rooms/{room_id}/connect", key=BACKEND_KEY)
        if reply.status not in (200, 202):
            raise AssertionError(f"connect to room {room_id} failed: {reply.status} {reply.text}")
        return await self.wait_for_call(
            reply.body["callConnectionId"],
            lambda call: call["state"] == "connected" and bool(call["participants"]),
        )

    # Callbacks, as ACS would post them.

    def callback_token(self) -> str:
        """A valid callback JWT, signed by the emulator's key."""
        return mint_callback_token(self.emulator.app)

    async def post_callbacks(self, events: Sequence[Mapping[str, Any]], *, token: str | None = None) -> Reply:
        """POST ``events`` to ``/api/callbacks`` with a valid token (or ``token``)."""
        return await self.request(
            "POST", "/api/callbacks", key=token or self.callback_token(), json=list(events)
        )

    async def settle(self, call_connection_id: str) -> None:
        """Return once the bot has processed every callback posted so far for the call.

        A marker event is posted and awaited in the call's history: a call's events are handled
        in order, so everything before it is done. Events still on their way from the emulator
        are not covered."""
        marker = cloud_event(call_connection_id, "RoombotTestMarker")
        reply = await self.post_callbacks([marker])
        assert reply.status == 200, reply.text

        async def seen() -> bool:
            call = await self.call(call_connection_id)
            return call is not None and any(e["id"] == marker["id"] for e in call["events"])

        await eventually(seen, what=f"the marker event of call {call_connection_id}")

    # Life cycle.

    async def restart(self, while_down: Callable[[], Awaitable[None]] | None = None) -> RunningBot:
        """Stop the bot and start a new one with the same settings on the same port.

        ``while_down`` runs between the two: what happens there reaches no bot."""
        old = self.bot
        await old.close()
        if while_down is not None:
            await while_down()
        await self.http.close()
        self.http = aiohttp.ClientSession()
        self.bot = await serve_bot(
            lambda _url: old.settings, handler_factories=old.handler_factories, port=old.port
        )
        return self.bot

    async def stop_emulator(self) -> None:
        """Stop the emulator while the bot runs (ACS unreachable)."""
        if not self._emulator_closed:
            self._emulator_closed = True
            await self.emulator.close()

    async def close(self) -> None:
        try:
            await self.bot.close()
        finally:
            await self.http.close()
            await self.stop_emulator()
