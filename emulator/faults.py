"""Placeholder module: its owner replaces this with the real routes."""

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register this module's routes and background resources on the emulator app."""
    del app
