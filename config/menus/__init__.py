"""The menu file: its model, loader and checks, with the packaged default menus beside them."""

from config.menus.load import load_menus, parse_menus_text
from config.menus.model import DEFAULT_MENUS_FILE, MenuFileError, MenuSet

__all__ = ["DEFAULT_MENUS_FILE", "MenuFileError", "MenuSet", "load_menus", "parse_menus_text"]
