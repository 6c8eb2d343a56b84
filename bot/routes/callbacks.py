"""`POST /api/callbacks`: Call Automation events from ACS.

The answer is given as soon as the events are authenticated, parsed, de-duplicated and queued:
handlers run in the per-call dispatcher, so one slow handler never delays ACS's delivery.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot import keys
from bot.auth.callback_jwt import CallbackAuthError, SigningKeysUnavailable
from bot.events import EventParseError, parse_callback_body
from bot.problems import ProblemError, loads_json

logger = logging.getLogger(f"roombot.{__name__}")
routes = web.RouteTableDef()

# When the signing keys cannot be loaded the fault is ours, not the sender's: a 5xx makes ACS
# deliver again later. The verifier itself refetches at most every few seconds.
KEYS_RETRY_AFTER_SECONDS = 10


@routes.post("/api/callbacks")
async def receive_callbacks(request: web.Request) -> web.Response:
    app = request.app
    metrics = app[keys.METRICS]
    try:
        await app[keys.VERIFIER].verify(request.headers.get("Authorization"))
    except SigningKeysUnavailable as exc:
        metrics.callbacks.labels(outcome="unverifiable").inc()
        logger.error("cannot check a callback's token: %s", exc)
        raise ProblemError(
            503,
            "Callback signing keys unavailable",
            "The bot cannot load ACS's signing keys right now; deliver again later.",
            headers={"Retry-After": str(KEYS_RETRY_AFTER_SECONDS)},
        ) from None
    except CallbackAuthError as exc:
        metrics.callbacks.labels(outcome="unauthorized").inc()
        logger.warning("refused callback: %s", exc)
        raise ProblemError(
            401, "Unauthorized callback", str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None
    try:
        events = parse_callback_body(loads_json(await request.read(), title="Malformed callback body"))
    except ProblemError:
        metrics.callbacks.labels(outcome="malformed").inc()
        raise
    except (ValueError, EventParseError) as exc:
        metrics.callbacks.labels(outcome="malformed").inc()
        raise ProblemError(400, "Malformed callback body", str(exc)) from None
    store = app[keys.STORE]
    # One store round trip for the whole body; an id repeated within it is dispatched once.
    first_seen = await store.mark_events_seen([event.id for event in events])
    fresh = []
    for event in events:
        if event.id in first_seen:
            first_seen.discard(event.id)
            fresh.append(event)
            metrics.events.labels(type=event.type, outcome="dispatched").inc()
        else:
            metrics.events.labels(type=event.type, outcome="duplicate").inc()
    app[keys.DISPATCHER].submit(fresh)
    metrics.callbacks.labels(outcome="accepted").inc()
    return web.json_response({"received": len(events), "accepted": len(fresh)})
