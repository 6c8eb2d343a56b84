"""Event Grid: room call lifecycle events pushed to webhook subscriptions.

A subscription exists only after its endpoint answers the validation handshake (a POST with
``aeg-event-type: SubscriptionValidation`` carrying ``data.validationCode``, answered 200 with
``{"validationResponse": code}``), as Event Grid requires of webhooks. Only that synchronous
handshake is supported: the ``validationUrl`` of the event leads to an explanation, not to a
manual validation. Events then go out as JSON arrays in the Event Grid schema with
``aeg-event-type: Notification``, in order per subscription, retried like callbacks, and never
block the request that caused them. Each array holds one event, as Event Grid delivers by
default; a subscription made with ``maxEventsPerBatch`` (1 to 5,000, as Event Grid's own
setting) gets up to that many of those waiting in one array.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web

from emulator.clock import Clock
from emulator.delivery.callbacks import OrderedQueues, RetryPolicy, post_json
from emulator.protocol.errors import AcsError
from emulator.urls import is_http_url

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
VALIDATION_PATH = "/emulator/eventgrid/validate"
# Event Grid waits 30 seconds for the handshake answer.
HANDSHAKE_TIMEOUT_SECONDS = 30.0
# Event Grid's bounds and default of a subscription's events per batch.
MAX_EVENTS_PER_BATCH = 5000
DEFAULT_EVENTS_PER_BATCH = 1


@dataclass(frozen=True)
class Subscription:
    id: str
    endpoint: str
    created_at: datetime
    max_events_per_batch: int = DEFAULT_EVENTS_PER_BATCH

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "createdAt": self.created_at.isoformat(),
            "maxEventsPerBatch": self.max_events_per_batch,
        }


def topic_for(resource_id: str) -> str:
    """The ARM id Event Grid names as the topic of ACS events (a fixed, fictitious one here)."""
    return (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/roombot-emulator"
        f"/providers/microsoft.communication/communicationservices/emulator-{resource_id}"
    )


def handshake_failed(endpoint: str, reason: str) -> AcsError:
    return AcsError(
        400,
        "Url validation",
        f"Webhook validation handshake failed for {endpoint}: {reason}",
        target="endpoint",
    )


class EventGridPublisher:
    def __init__(
        self,
        *,
        clock: Clock,
        topic: str,
        public_url: Callable[[], str],
        policy: RetryPolicy | None = None,
    ) -> None:
        self._clock = clock
        self._topic = topic
        self._public_url = public_url
        self._policy = policy or RetryPolicy()
        self._subscriptions: dict[str, Subscription] = {}
        self._queues: OrderedQueues[str, dict[str, Any]] = OrderedQueues(
            self._deliver_batches, max_batch=MAX_EVENTS_PER_BATCH
        )
        self.session: aiohttp.ClientSession | None = None

    def subscriptions(self) -> list[Subscription]:
        return list(self._subscriptions.values())

    def unsubscribe(self, subscription_id: str) -> bool:
        return self._subscriptions.pop(subscription_id, None) is not None

    async def subscribe(
        self, endpoint: str, max_events_per_batch: int = DEFAULT_EVENTS_PER_BATCH
    ) -> Subscription:
        """Run the validation handshake against ``endpoint``; raise the 400 unless it passes."""
        if not is_http_url(endpoint):
            raise AcsError(400, "BadRequest", "endpoint must be an absolute http(s) URL.", target="endpoint")
        if not 1 <= max_events_per_batch <= MAX_EVENTS_PER_BATCH:
            message = f"maxEventsPerBatch must be between 1 and {MAX_EVENTS_PER_BATCH}."
            raise AcsError(400, "BadRequest", message, target="maxEventsPerBatch")
        subscription = Subscription(str(uuid.uuid4()), endpoint, self._clock.now(), max_events_per_batch)
        await self._handshake(subscription)
        self._subscriptions[subscription.id] = subscription
        return subscription

    async def _handshake(self, subscription: Subscription) -> None:
        code = str(uuid.uuid4()).upper()
        event = self._envelope(
            VALIDATION_EVENT,
            subject="",
            data={
                "validationCode": code,
                "validationUrl": f"{self._public_url()}{VALIDATION_PATH}?id={subscription.id}&code={code}",
            },
            data_version="2",
        )
        headers = {"aeg-event-type": "SubscriptionValidation", **self._common_headers(subscription)}
        if self.session is None:
            raise AcsError(503, "ServiceUnavailable", "The emulator is not running.")
        try:
            async with self.session.post(
                subscription.endpoint,
                json=[event],
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=HANDSHAKE_TIMEOUT_SECONDS),
            ) as response:
                status = response.status
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise handshake_failed(subscription.endpoint, f"the POST failed ({exc!r}).") from exc
        if status != 200:
            raise handshake_failed(subscription.endpoint, f"the endpoint answered {status}.")
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("validationResponse") != code:
            raise handshake_failed(subscription.endpoint, "the answer did not carry the validationResponse.")

    def publish(self, event_type: str, subject: str, data: dict[str, Any]) -> None:
        """Queue one event for every subscription; returns at once."""
        for subscription in self._subscriptions.values():
            self._queues.put(subscription.id, self._envelope(event_type, subject=subject, data=data))

    def _envelope(
        self, event_type: str, *, subject: str, data: dict[str, Any], data_version: str = "1.0"
    ) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "topic": self._topic,
            "subject": subject,
            "data": data,
            "eventType": event_type,
            "eventTime": self._clock.now().isoformat(),
            "dataVersion": data_version,
            "metadataVersion": "1",
        }

    @staticmethod
    def _common_headers(subscription: Subscription) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "aeg-subscription-name": subscription.id.upper(),
            "aeg-metadata-version": "1",
        }

    async def _deliver_batches(self, subscription_id: str, events: list[dict[str, Any]]) -> None:
        """What waits for a subscription, in arrays of its batch size, in order."""
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None:
            return
        size = subscription.max_events_per_batch
        for start in range(0, len(events), size):
            await self._deliver(subscription, events[start : start + size])

    async def _deliver(self, subscription: Subscription, events: list[dict[str, Any]]) -> None:
        if self.session is None or subscription.id not in self._subscriptions:
            return
        attempt = 0

        def headers() -> dict[str, str]:
            nonlocal attempt
            attempt += 1
            return {
                "aeg-event-type": "Notification",
                "aeg-delivery-count": str(attempt - 1),
                **self._common_headers(subscription),
            }

        await post_json(
            self.session,
            subscription.endpoint,
            json.dumps(events).encode(),
            headers,
            policy=self._policy,
            clock=self._clock,
            what="Event Grid delivery",
        )

    async def drain(self) -> None:
        """Wait until every event published so far has been delivered or dropped."""
        await self._queues.drain()

    async def close(self) -> None:
        await self._queues.close()


async def manual_validation(request: web.Request) -> web.Response:
    raise AcsError(
        400,
        "BadRequest",
        "The emulator supports only the synchronous validation handshake: answer the "
        'SubscriptionValidation POST with 200 and {"validationResponse": <validationCode>}.',
    )


def routes() -> list[web.RouteDef]:
    return [web.get(VALIDATION_PATH, manual_validation)]
