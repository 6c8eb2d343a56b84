"""DTMF menus: the ``menus`` handler, its pure engine, sessions, hotkeys and HTTP routes."""

from handlers.menus.handler import MenusConfig, MenusHandler

__all__ = ["MenusConfig", "MenusHandler"]
