"""The bot's core HTTP routes. Handler plugins add their own (see `bot.handlers`)."""

from __future__ import annotations

from aiohttp import web

from bot.routes import callbacks, eventgrid, health, openapi, ops, rooms


def setup_routes(app: web.Application) -> None:
    for module in (callbacks, eventgrid, rooms, ops, health, openapi):
        app.router.add_routes(module.routes)
