"""Adding the console to an emulator app: its page, its reads, and the live feed's watchers."""

from __future__ import annotations

from aiohttp import web

from emulator.console.live import stream_route, watch_requests
from emulator.console.page import page_routes
from emulator.console.views import view_routes
from emulator.keys import CALLS, CHANGES, CLOCK, DELIVERIES, PHONES, ROOMS


def setup(app: web.Application) -> None:
    """Call once the call service, phones and delivery log are in ``app``."""
    changes, deliveries = app[CHANGES], app[DELIVERIES]
    deliveries.on_change = changes.notify
    watch_requests(app, changes)
    app.add_routes(page_routes())
    app.add_routes([stream_route(changes)])
    app.add_routes(
        view_routes(app[ROOMS], app[CALLS].registry.call_for_room, app[PHONES], deliveries, app[CLOCK].now)
    )
