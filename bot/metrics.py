"""Prometheus metrics, one registry per application so that tests never share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
            "Actions sent to ACS through the facade, by action and outcome.",
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
