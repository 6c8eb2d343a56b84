"""The ACS facade: the only place where the bot calls the Azure SDKs.

Every method is one logical action run through the bot's `RetryPolicy` (azure-core's retry policy
is not in the SDK clients' pipeline, see `bot.acs.sdk`, so attempts do not multiply) and every SDK
error is translated into the domain errors of `bot.acs.types` (re-exported by `bot.acs`): routes
and handlers never see azure-core's.

Adding an action (play, recognize, add_participant...): write a method whose `action(headers)`
closure calls the SDK with `headers=headers` where the request carries repeatability headers, and
pass it to `self.run_action`. A caller that must survive a restart passes persisted `headers` (see
`bot.acs.retry.repeatability_headers`).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

import aiohttp
from azure.communication.callautomation import CallConnectionProperties, CallParticipant
from azure.communication.callautomation.aio import CallConnectionClient
from azure.communication.rooms import CommunicationRoom
from azure.core.exceptions import AzureError

from bot.acs.media import MediaActions
from bot.acs.participants import ParticipantActions
from bot.acs.recording import RecordingActions
from bot.acs.retry import Headers, RetryPolicy
from bot.acs.sdk import call_automation_client, rooms_client, transport
from bot.acs.types import (
    AcsError,
    AcsNotFound,
    AcsRejected,
    AcsUnavailable,
    CallInfo,
    ParticipantInfo,
    RoomInfo,
    call_info,
    participant_info,
    room_info,
    text_value,
    translate_error,
)
from config.settings import parse_connection_string

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(f"roombot.{__name__}")

T = TypeVar("T")

PING_TIMEOUT_SECONDS = 5.0


class AcsFacade:
    """Call Automation and Rooms actions for the bot, with retries and domain errors."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        *,
        retry: RetryPolicy | None = None,
        cognitive_services_endpoint: str | None = None,
        proxy: str | None = None,
    ) -> None:
        # Built from parts: `from_connection_string` would force https and miss the emulator.
        self.endpoint = endpoint
        # Named on every connect: ACS speaks text and SSML prompts only on calls set up with it.
        self.cognitive_services_endpoint = cognitive_services_endpoint
        self.retry = retry or RetryPolicy()
        # One lean pipeline and one HTTP session for both SDK clients (see `bot.acs.sdk`).
        shared = transport()
        self._calls = call_automation_client(endpoint, access_key, shared, proxy=proxy)
        self._rooms = rooms_client(endpoint, access_key, shared, proxy=proxy)
        self._ping_retry = RetryPolicy(max_attempts=1, max_seconds=PING_TIMEOUT_SECONDS)
        # Asked before every action: False stops it (a replica that is not sure it leads).
        self.guard: Callable[[], bool] = lambda: True
        self.media = MediaActions(self)
        self.participants = ParticipantActions(self)
        self.recording = RecordingActions(self, self._calls, endpoint, access_key)

    @classmethod
    def from_connection_string(
        cls,
        connection_string: str,
        *,
        retry: RetryPolicy | None = None,
        cognitive_services_endpoint: str | None = None,
        proxy: str | None = None,
    ) -> AcsFacade:
        endpoint, access_key = parse_connection_string(connection_string)
        return cls(
            endpoint,
            access_key,
            retry=retry,
            cognitive_services_endpoint=cognitive_services_endpoint,
            proxy=proxy,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> AcsFacade:
        if settings.acs_connection_string is None:
            raise ValueError("ROOMBOT_ACS_CONNECTION_STRING is not set")
        cognitive = settings.cognitive_services_endpoint
        return cls.from_connection_string(
            settings.acs_connection_string.get_secret_value(),
            retry=RetryPolicy.from_settings(settings),
            cognitive_services_endpoint=str(cognitive) if cognitive is not None else None,
            proxy=str(settings.https_proxy) if settings.https_proxy is not None else None,
        )

    async def run_action(
        self,
        description: str,
        action: Callable[[Headers], Awaitable[T]],
        *,
        idempotent: bool = True,
        repeatability: bool = True,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
    ) -> T:
        """Run one logical action through the retry policy and translate what escapes it."""
        if policy is not self._ping_retry and not self.guard():
            raise AcsUnavailable(f"{description}: this replica does not lead (any more); not sent")
        retry = policy or self.retry
        try:
            return await retry.call(
                action,
                idempotent=idempotent,
                repeatability=repeatability,
                headers=headers,
                description=description,
            )
        except (AzureError, aiohttp.ClientError, TimeoutError) as exc:
            # azure-core raises its HTTP errors from a helper whose frame keeps the error it
            # raised (`map_error`: ``error = ...; raise error``), and the error's traceback keeps
            # that frame: a reference cycle of some sixty objects per failed request, which only
            # the cyclic garbage collector frees. The frames below this one have finished;
            # clearing their locals breaks the cycle and keeps the traceback's lines for logs.
            traceback.clear_frames(exc.__traceback__)
            # Raised straight from the call, not from a local: a frame holding the exception its
            # own traceback holds would be a cycle for the garbage collector, one per failure.
            raise _logged(translate_error(exc, description, retry), description) from exc

    def connection(self, call_connection_id: str) -> CallConnectionClient:
        """The SDK client of one call connection; for the action groups of this package only."""
        if not call_connection_id:
            raise AcsRejected(400, None, "call_connection_id must not be empty")
        return self._calls.get_call_connection(call_connection_id)

    async def connect_room(
        self, room_id: str, callback_url: str, operation_context: str | None = None
    ) -> CallInfo:
        """Join the room's running call (`callConnections:connect`); state starts `connecting`.

        The AI services endpoint, when configured, goes along as
        ``callIntelligenceOptions.cognitiveServicesEndpoint``."""

        async def action(headers: Headers) -> CallConnectionProperties:
            return await self._calls.connect_call(
                callback_url,
                room_id=room_id,
                operation_context=operation_context,
                cognitive_services_endpoint=self.cognitive_services_endpoint,
                headers=headers,
            )

        return call_info(await self.run_action(f"connect to room {room_id}", action, idempotent=False))

    async def get_call(self, call_connection_id: str) -> CallInfo:
        connection = self.connection(call_connection_id)

        async def action(headers: Headers) -> CallConnectionProperties:
            return await connection.get_call_properties()

        props = await self.run_action(f"get call {call_connection_id}", action, repeatability=False)
        return call_info(props)

    async def list_participants(self, call_connection_id: str) -> list[ParticipantInfo]:
        connection = self.connection(call_connection_id)

        async def action(headers: Headers) -> list[CallParticipant]:
            # Every page inside one attempt: a retry restarts the listing from the first page.
            return [participant async for participant in connection.list_participants()]

        participants = await self.run_action(
            f"list participants of call {call_connection_id}", action, repeatability=False
        )
        return [participant_info(participant) for participant in participants]

    async def terminate(self, call_connection_id: str) -> None:
        """End the call for everyone (`:terminate`); CallDisconnected follows."""
        connection = self.connection(call_connection_id)

        async def action(headers: Headers) -> None:
            await connection.hang_up(is_for_everyone=True, headers=headers)

        await self.run_action(f"terminate call {call_connection_id}", action, idempotent=False)

    async def leave(self, call_connection_id: str) -> None:
        """The bot hangs up its own leg; the call goes on for the others."""
        connection = self.connection(call_connection_id)

        async def action(headers: Headers) -> None:
            await connection.hang_up(is_for_everyone=False, headers=headers)

        await self.run_action(f"leave call {call_connection_id}", action)

    async def get_room(self, room_id: str) -> RoomInfo:
        async def action(headers: Headers) -> CommunicationRoom:
            return await self._rooms.get_room(room_id)

        return room_info(await self.run_action(f"get room {room_id}", action, repeatability=False))

    async def list_room_participants(self, room_id: str) -> dict[str, str]:
        """The room's roster: raw id → role (Presenter, Attendee, Consumer, Collaborator)."""

        async def action(headers: Headers) -> dict[str, str]:
            return {
                participant.communication_identifier.raw_id: text_value(participant.role)
                async for participant in self._rooms.list_participants(room_id)
            }

        return await self.run_action(f"list participants of room {room_id}", action, repeatability=False)

    async def ping(self) -> None:
        """Raise AcsUnavailable/AcsRejected unless ACS answers an authenticated request now.

        One attempt, bounded in time: a readiness probe must answer fast, not retry.
        """

        async def action(headers: Headers) -> None:
            async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                async for _room in self._rooms.list_rooms():
                    break

        await self.run_action("ping ACS", action, repeatability=False, policy=self._ping_retry)

    async def close(self) -> None:
        await self._calls.close()
        await self._rooms.close()


def _logged(error: AcsError, description: str) -> AcsError:
    # "Not found" is often the answer looked for (is that call still on?): the caller decides
    # whether it is news. Every other failure is.
    level = logging.INFO if isinstance(error, AcsNotFound) else logging.WARNING
    log.log(level, "%s failed: %s", description, error)
    return error
