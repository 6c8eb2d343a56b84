"""Prometheus metrics, one registry per application so that tests never share counters.

Everything here is kept up to date as things happen (counters, one gauge set from the store's
live-call index when scraped): answering `/metrics` reads no call record. Two instruments hook
into the bot from outside the code they measure: `http_metrics` is the outermost middleware, and
`count_acs_actions` wraps the ACS facade's one entry point for actions.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

T = TypeVar("T")
# Words of an action's description that join a verb to its object ("play in call ..."): the
# label stops before them, so it never carries an id.
_LINKS = frozenset({"to", "in", "of", "from", "for", "on"})


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.callbacks = Counter(
            "roombot_callback_requests_total",
            "Callback POSTs received, by outcome (accepted, unauthorized, malformed).",
            ["outcome"],
            registry=self.registry,
        )
        self.events = Counter(
            "roombot_events_total",
            "Call Automation events received, by type and outcome (dispatched, duplicate).",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.handler_failures = Counter(
            "roombot_handler_failures_total",
            "Exceptions raised by handlers while processing an event.",
            ["handler"],
            registry=self.registry,
        )
        self.acs_actions = Counter(
            "roombot_acs_actions_total",
            "Actions sent to ACS through the facade, by action and outcome (ok, or the error).",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.live_calls = Gauge(
            "roombot_live_calls", "Calls the bot is connected to.", registry=self.registry
        )
        self.http_latency = Histogram(
            "roombot_http_request_seconds",
            "Time to answer HTTP requests, by route and status class.",
            ["route", "status"],
            registry=self.registry,
        )
        # The labelled children of the per-event counters: `labels()` takes a lock and builds a
        # key on every call; these are counted several times per callback.
        self._event_counts: dict[tuple[str, str], Counter] = {}
        self._callback_counts: dict[str, Counter] = {}

    def count_event(self, event_type: str, outcome: str) -> None:
        child = self._event_counts.get((event_type, outcome))
        if child is None:
            child = self._event_counts[(event_type, outcome)] = self.events.labels(
                type=event_type, outcome=outcome
            )
        child.inc()

    def count_callback(self, outcome: str) -> None:
        child = self._callback_counts.get(outcome)
        if child is None:
            child = self._callback_counts[outcome] = self.callbacks.labels(outcome=outcome)
        child.inc()


def action_name(description: str) -> str:
    """``get call 4f2c...`` -> ``get call``; ``play in call ...`` -> ``play``; ``remove 8:acs:..``
    -> ``remove``: the leading words up to the first that is not a plain word, at most two."""
    words: list[str] = []
    for word in description.split()[:2]:
        if not word.isalpha() or word in _LINKS:
            break
        words.append(word)
    return " ".join(words) or "other"


def count_acs_actions(facade: Any, metrics: Metrics) -> None:
    """Count every action the facade runs (``facade.run_action`` is where each one goes)."""
    run_action: Callable[..., Awaitable[Any]] = facade.run_action

    async def counted(description: str, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await run_action(description, *args, **kwargs)
        except Exception as exc:
            metrics.acs_actions.labels(action=action_name(description), outcome=type(exc).__name__).inc()
            raise
        metrics.acs_actions.labels(action=action_name(description), outcome="ok").inc()
        return result

    facade.run_action = counted


def http_metrics(metrics: Metrics) -> Middleware:
    """The middleware timing every request, labelled by route template (never by raw path)."""

    # One histogram child per (route, status class), looked up once: `labels()` takes a lock.
    children: dict[tuple[str, int], Any] = {}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            child = children.get((route, status // 100))
            if child is None:
                child = metrics.http_latency.labels(route=route, status=f"{status // 100}xx")
                children[(route, status // 100)] = child
            child.observe(time.perf_counter() - started)

    return middleware
