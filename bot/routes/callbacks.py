"""`POST /api/callbacks`: Call Automation events from ACS.

The answer is given once the events are authenticated, parsed, and durably stored in the inbox
together with the duplicate check (`bot.intake`): ACS delivers again what it has not seen
acknowledged, so a 2xx must mean "kept". Handlers run afterwards in the per-call dispatcher, so one
slow handler never delays ACS's delivery.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from bot import keys
from bot.auth.callback_jwt import CallbackAuthError, SigningKeysUnavailable
from bot.events import CallEvent, EventParseError, parse_callback_body
from bot.metrics import Metrics
from bot.problems import STORE_RETRY_AFTER_SECONDS, ProblemError, loads_json
from bot.state.base import StateStoreError

logger = logging.getLogger(f"roombot.{__name__}")
routes = web.RouteTableDef()

# When the signing keys cannot be loaded the fault is ours, not the sender's: a 5xx makes ACS
# deliver again later. The verifier itself refetches at most every few seconds.
KEYS_RETRY_AFTER_SECONDS = 10


@routes.post("/api/callbacks")
async def receive_callbacks(request: web.Request) -> web.Response:
    app = request.app
    metrics, intake = app[keys.METRICS], app[keys.INTAKE]
    # Counted as open until its events are stored: under a load of them the store commits them
    # together.
    with intake.callback_open():
        events, payload = await _verified_events(request)
        try:
            # One store round trip for the whole body; an id repeated within it is kept once.
            fresh = await intake.receive(payload, events)
        except StateStoreError as exc:
            logger.error("cannot store a callback's events: %s", exc)
            raise _later(
                metrics,
                "unstored",
                "State store unavailable",
                "The bot cannot store the events right now; deliver again later.",
                STORE_RETRY_AFTER_SECONDS,
            ) from None
    fresh_ids = {event.id for event in fresh}
    for event in events:
        outcome = "dispatched" if event.id in fresh_ids else "duplicate"
        fresh_ids.discard(event.id)
        metrics.count_event(event.type, outcome)
    metrics.count_callback("accepted")
    return web.Response(
        body=orjson.dumps({"received": len(events), "accepted": len(fresh)}),
        content_type="application/json",
    )


async def _verified_events(request: web.Request) -> tuple[list[CallEvent], Any]:
    """The POST's events (and the JSON they came in), once its token is verified; a
    ProblemError (401, 503, 400) otherwise."""
    app = request.app
    metrics = app[keys.METRICS]
    try:
        await app[keys.VERIFIER].verify(request.headers.get("Authorization"))
    except SigningKeysUnavailable as exc:
        logger.error("cannot check a callback's token: %s", exc)
        raise _later(
            metrics,
            "unverifiable",
            "Callback signing keys unavailable",
            "The bot cannot load ACS's signing keys right now; deliver again later.",
            KEYS_RETRY_AFTER_SECONDS,
        ) from None
    except CallbackAuthError as exc:
        metrics.count_callback("unauthorized")
        logger.warning("refused callback: %s", exc)
        raise ProblemError(
            401, "Unauthorized callback", str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None
    try:
        payload = loads_json(await request.read(), title="Malformed callback body")
        events = parse_callback_body(payload)
    except ProblemError:
        metrics.count_callback("malformed")
        raise
    except (ValueError, EventParseError) as exc:
        metrics.count_callback("malformed")
        raise ProblemError(400, "Malformed callback body", str(exc)) from None
    return events, payload


def _later(metrics: Metrics, outcome: str, title: str, detail: str, retry_after: int) -> ProblemError:
    """The 503 of a fault on our side: ACS delivers again after ``retry_after`` seconds."""
    metrics.count_callback(outcome)
    return ProblemError(503, title, detail, headers={"Retry-After": str(retry_after)})
