"""`POST /api/eventgrid`: the Event Grid webhook for room call lifecycle events.

It answers the subscription validation handshake, joins a room's call on `CallStarted` when
auto-join is on, and on `CallEnded` finishes the room's calls that ACS confirms are gone. Every
other event (``RecordingFileStatusUpdated``...) is published on the bus as `EventGridNotification`
for the handlers that subscribe to it. When
``EVENTGRID_KEY`` is set the subscription URL must carry ``?key=<it>`` (Event Grid webhooks
cannot send an Authorization header, so a secret in the URL is the usual protection).

Both of Event Grid's delivery schemas are taken. The Event Grid schema is an array of
``{eventType, subject, data, ...}`` with a ``SubscriptionValidationEvent`` handshake. A
subscription with the CloudEvents 1.0 schema delivers ``{specversion, type, source, subject,
data, ...}`` (one object, ``application/cloudevents+json``, or an array,
``application/cloudevents-batch+json``) and validates the endpoint with the CloudEvents webhook
handshake instead: an ``OPTIONS`` carrying ``WebHook-Request-Origin``, answered 200 with
``WebHook-Allowed-Origin`` (Event Grid's docs, "CloudEvents v1.0 schema with Azure Event Grid",
and the CloudEvents HTTP webhook spec, section 4). A CloudEvent is read as the Event Grid event
it carries: ``type`` is the event type, ``source`` the topic.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiohttp import web

from bot import keys
from bot.acs import AcsError
from bot.messages import EventGridNotification
from bot.problems import ProblemError, loads_json

logger = logging.getLogger(f"roombot.{__name__}")
routes = web.RouteTableDef()

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
CALL_STARTED = "Microsoft.Communication.CallStarted"
CALL_ENDED = "Microsoft.Communication.CallEnded"


def _check_key(request: web.Request) -> None:
    expected = request.app[keys.SETTINGS].eventgrid_key
    if expected is None:
        return
    given = request.query.get("key", "")
    # surrogateescape: a query that is not UTF-8 is a wrong key, not an error.
    if not hmac.compare_digest(given.encode(errors="surrogateescape"), expected.get_secret_value().encode()):
        raise ProblemError(401, "Unauthorized", "The Event Grid subscription key is missing or wrong.")


ORIGIN_HEADER = "WebHook-Request-Origin"
ALLOWED_ORIGIN_HEADER = "WebHook-Allowed-Origin"


CLOUD_EVENTS_TYPES = frozenset({"application/cloudevents+json", "application/cloudevents-batch+json"})


def _grid_shaped(item: Any) -> Any:
    """A CloudEvent as the Event Grid event it carries (anything else as it is, to be refused)."""
    if not isinstance(item, dict):
        return item
    shaped = {"eventType": item.get("type"), "topic": item.get("source"), "eventTime": item.get("time")}
    return {**shaped, **{key: item[key] for key in ("id", "subject", "data") if key in item}}


def _events(body: Any, cloud_events: bool) -> list[dict[str, Any]]:
    items = body if isinstance(body, list) else [body]
    if cloud_events:
        items = [_grid_shaped(item) for item in items]
    if not all(isinstance(item, dict) and isinstance(item.get("eventType"), str) for item in items):
        raise ProblemError(400, "Malformed Event Grid body", "Expected an array of events with eventType.")
    for index, item in enumerate(items):
        data = item.get("data")
        if data is not None and not isinstance(data, dict):
            raise ProblemError(400, "Malformed Event Grid body", f"Event {index}: data must be an object.")
        server_call_id = (data or {}).get("serverCallId")
        if server_call_id is not None and not isinstance(server_call_id, str):
            raise ProblemError(
                400, "Malformed Event Grid body", f"Event {index}: data.serverCallId must be a string."
            )
    return items


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def _room_id(event: dict[str, Any]) -> str | None:
    room = _data(event).get("room") or {}
    room_id = room.get("id") if isinstance(room, dict) else None
    return room_id if isinstance(room_id, str) and room_id else None


@routes.route("OPTIONS", "/api/eventgrid")
async def cloud_events_handshake(request: web.Request) -> web.Response:
    """The CloudEvents webhook validation of a subscription with the CloudEvents schema."""
    _check_key(request)
    origin = request.headers.get(ORIGIN_HEADER, "").strip()
    if not origin:
        raise ProblemError(400, "Malformed handshake", f"The {ORIGIN_HEADER} header is missing.")
    logger.info("answering the CloudEvents webhook handshake of %s", origin)
    return web.Response(status=200, headers={ALLOWED_ORIGIN_HEADER: origin, "Allow": "POST, OPTIONS"})


@routes.post("/api/eventgrid")
async def eventgrid(request: web.Request) -> web.Response:
    _check_key(request)
    body = loads_json(await request.read(), title="Malformed Event Grid body")
    events = _events(body, cloud_events=request.content_type in CLOUD_EVENTS_TYPES)
    for event in events:
        if event["eventType"] == VALIDATION_EVENT:
            code = _data(event).get("validationCode")
            if not isinstance(code, str):
                raise ProblemError(400, "Malformed validation event", "data.validationCode is missing.")
            logger.info("answering the Event Grid validation handshake")
            return web.json_response({"validationResponse": code})
    for event in distinct_events(events):
        await _handle(request.app, event)
    return web.json_response({"received": len(events)})


def distinct_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of one delivery to act on, the last of each kind. A room call's start or end
    is one action per room and call however many events name it: a body of 2,000 CallEnded for
    one room (Event Grid batches, or someone replays) is one check with ACS, not 2,000. Every
    other event is its own (two recordings' files in one batch are two files); only a repeat of
    the same event id, a redelivery, is one."""
    distinct: dict[tuple[str, Any, Any], dict[str, Any]] = {}
    for index, event in enumerate(events):
        kind = event["eventType"]
        if kind in (CALL_STARTED, CALL_ENDED):
            key = (kind, _room_id(event), _data(event).get("serverCallId"))
        else:
            event_id = event.get("id")
            key = (kind, "id", event_id if isinstance(event_id, str) and event_id else f"#{index}")
        distinct[key] = event
    return list(distinct.values())


async def _handle(app: web.Application, event: dict[str, Any]) -> None:
    if event["eventType"] not in (CALL_STARTED, CALL_ENDED):
        notification = EventGridNotification(
            event_type=event["eventType"],
            subject=str(event.get("subject") or ""),
            data=_data(event),
            event_id=str(event.get("id") or ""),
        )
        await app[keys.SERVICES].bus.publish(notification)
        return
    room_id = _room_id(event)
    if room_id is None:
        return
    if event["eventType"] == CALL_STARTED and app[keys.SETTINGS].auto_join:
        try:
            result = await app[keys.COMMANDS].connect(room_id)
        except AcsError:
            # Event Grid retries on a failed delivery; joining late is better than never,
            # but one bad room must not make Event Grid resend every other event of the batch.
            logger.exception("auto-join of room %s failed", room_id)
            return
        if result.created:
            logger.info("auto-joined room %s", room_id)
    elif event["eventType"] == CALL_ENDED:
        server_call_id = _data(event).get("serverCallId")
        ended = await app[keys.COMMANDS].call_ended(room_id, server_call_id)
        if ended:
            logger.info("room %s call ended; finishing calls %s", room_id, ", ".join(ended))
