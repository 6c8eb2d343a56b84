"""roombot's configuration: settings and (later) the menu-file models."""

from config.settings import Settings, format_settings_error, load_settings

__all__ = ["Settings", "format_settings_error", "load_settings"]
