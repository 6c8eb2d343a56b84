"""What the demo's steps share: the public clients, the cast, and waiting for an outcome.

Everything goes through public HTTP APIs: the emulator's Identity and Rooms APIs through the
official async SDK clients, its control API for joins, and the bot's ``/api`` and ``/ops`` routes
with the API keys, exactly as a backend and an operator would call them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.communication.rooms.aio import RoomsClient

from bot.demo.timeline import short_id

T = TypeVar("T")

# How often a waiting step looks again; the timeline is only as precise as this.
POLL_SECONDS = 0.05


class StepFailed(Exception):
    """A step could not happen; the message says what was expected and what was seen."""


@dataclass(frozen=True)
class Step:
    """One thing a user of the product does, or an outcome it waits for; returns the timeline line."""

    name: str
    run: Callable[[DemoContext], Awaitable[str]]


@dataclass
class DemoContext:
    http: aiohttp.ClientSession
    identity: CommunicationIdentityClient
    rooms: RoomsClient
    emulator_url: str
    bot_url: str
    backend_key: str
    ops_key: str
    # A guard against a stuck run, in real seconds; never an expectation about speed.
    wait_seconds: float = 30.0
    users: dict[str, str] = field(default_factory=dict)
    room_id: str | None = None
    call_connection_id: str | None = None
    dialout_id: str | None = None

    @property
    def room(self) -> str:
        if self.room_id is None:
            raise StepFailed("no room has been created yet")
        return self.room_id

    @property
    def call(self) -> str:
        if self.call_connection_id is None:
            raise StepFailed("the bot has not been asked to connect yet")
        return self.call_connection_id

    async def join(self, name: str) -> dict[str, Any]:
        """``name`` joins the room's call through the emulator's control API."""
        raw_id = self.users[name]
        url = f"{self.emulator_url}/emulator/rooms/{self.room}/participants/{quote(raw_id, safe='')}:join"
        async with self.http.post(url, json={"displayName": name}) as response:
            body: dict[str, Any] = await _expect(response, 200, f"{name} joining room {self.room}")
            return body

    async def bot_request(
        self,
        method: str,
        path: str,
        key: str,
        *,
        expect: int,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        sent = {"Authorization": f"Bearer {key}", **(headers or {})}
        url = f"{self.bot_url}{path}"
        async with self.http.request(method, url, headers=sent, json=json) as response:
            return await _expect(response, expect, f"{method} {path}")

    async def emulator_request(self, method: str, path: str, *, json: Any = None) -> Any:
        """A call to the emulator's control API (no auth), expecting 200."""
        async with self.http.request(method, f"{self.emulator_url}{path}", json=json) as response:
            return await _expect(response, 200, f"{method} {path}")

    async def emulator_call(self) -> dict[str, Any] | None:
        """The room call as the emulator sees it (participants, media log), or None."""
        async with self.http.get(f"{self.emulator_url}/emulator/rooms/{self.room}/call") as response:
            if response.status == 404:
                return None
            body: dict[str, Any] = await _expect(
                response, 200, f"GET the emulator's call of room {self.room}"
            )
            return body

    async def live_call(self) -> dict[str, Any] | None:
        """The bot's live call in the demo's room, as ``GET /ops/calls`` lists it."""
        calls = await self.bot_request("GET", "/ops/calls", self.ops_key, expect=200)
        return next((call for call in calls if call.get("roomId") == self.room), None)

    async def emulator_has_call(self) -> bool:
        return await self.emulator_call() is not None

    async def wait_until(self, what: str, probe: Callable[[], Awaitable[T | None]]) -> T:
        """Poll ``probe`` until it returns something other than None (or False)."""
        try:
            async with asyncio.timeout(self.wait_seconds):
                while True:
                    found = await probe()
                    if found is not None and found is not False:
                        return found
                    await asyncio.sleep(POLL_SECONDS)
        except TimeoutError:
            raise StepFailed(f"timed out after {self.wait_seconds:g}s waiting until {what}") from None

    def participant_names(self, call: dict[str, Any]) -> str:
        """The call's participants by cast name; others (the bot, phones) by their kind and id."""
        by_raw_id = {raw_id: name for name, raw_id in self.users.items()}
        names = []
        for participant in call.get("participants", []):
            raw_id = str(participant.get("rawId", ""))
            names.append(by_raw_id.get(raw_id) or f"{participant.get('kind', '?')} {short_id(raw_id)}")
        return ", ".join(names) or "none"


async def _expect(response: aiohttp.ClientResponse, status: int, what: str) -> Any:
    text = await response.text()
    if response.status != status:
        raise StepFailed(f"{what} answered {response.status} instead of {status}: {_detail(text)}")
    return json.loads(text) if text else None


def _detail(text: str) -> str:
    """The useful part of an error answer: problem+json's detail, ACS's error message, or the text."""
    try:
        body = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        if "detail" in body:
            return str(body["detail"])
    return text[:200]
