"""Discovering handler plugins through the ``roombot.handlers`` entry-point group.

Built-in handlers register through the same group as third-party ones, so there is one discovery
path. Start-up fails on a duplicate name, a factory that is not a handler, or an invalid config.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bot.handlers import Handler, HandlerFactory

if TYPE_CHECKING:
    from config.settings import Settings

ENTRY_POINT_GROUP = "roombot.handlers"


class PluginError(Exception):
    """A handler plugin cannot be loaded; the message names the plugin and the problem."""


def discover(group: str = ENTRY_POINT_GROUP) -> dict[str, HandlerFactory]:
    """Every handler factory registered under ``group``, by handler name."""
    found: dict[str, HandlerFactory] = {}
    for entry in entry_points(group=group):
        try:
            factory = entry.load()
        except Exception as exc:
            raise PluginError(
                f"handler plugin {entry.name!r} ({entry.value}) failed to import: {exc}"
            ) from exc
        name = getattr(factory, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"handler plugin {entry.name!r} ({entry.value}) has no `name`")
        if not hasattr(factory, "Config"):
            raise PluginError(f"handler plugin {name!r} has no `Config` model")
        if name in found:
            raise PluginError(f"two handler plugins are named {name!r}: {entry.value} and another")
        found[name] = factory
    return found


def _format_validation_error(name: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(config)"
    return f"handler {name!r}: config field {where!r}: {first['msg']}"


@dataclass(frozen=True)
class LoadedHandlers:
    """The handlers of one bot, in a stable order (by name)."""

    handlers: tuple[Handler, ...]

    def get(self, name: str) -> Handler | None:
        return next((h for h in self.handlers if h.name == name), None)

    def __iter__(self) -> Iterator[Handler]:
        return iter(self.handlers)


def handler_configs(factories: Mapping[str, HandlerFactory], settings: Settings) -> dict[str, dict[str, Any]]:
    """Each handler's raw config: ``ROOMBOT_HANDLERS`` over what the handler derives from settings.

    A factory may define ``settings_defaults(settings) -> dict`` (a classmethod) for config fields
    that have a top-level setting of their own, e.g. the menus handler's ``menus_file`` from
    ``ROOMBOT_MENUS_FILE``; the handler's entry in ``ROOMBOT_HANDLERS`` still wins, field by field.
    """
    configs = {name: dict(config) for name, config in settings.handlers.items()}
    for name, factory in factories.items():
        derive = getattr(factory, "settings_defaults", None)
        defaults = derive(settings) if callable(derive) else None
        if defaults:
            configs[name] = {**defaults, **configs.get(name, {})}
    return configs


def instantiate(
    factories: Mapping[str, HandlerFactory],
    configs: Mapping[str, Mapping[str, Any]],
    enabled: Iterable[str] | None = None,
) -> LoadedHandlers:
    """Validate each handler's config and build the handlers.

    ``configs`` maps a handler name to its raw config; a config for an unknown handler is an
    error too, since it is almost always a typo.
    """
    unknown = sorted(set(configs) - set(factories))
    if unknown:
        raise PluginError(f"config given for unknown handler(s): {', '.join(unknown)}")
    names = sorted(factories) if enabled is None else list(enabled)
    built: list[Handler] = []
    for name in names:
        factory = factories.get(name)
        if factory is None:
            raise PluginError(f"handler {name!r} is enabled but no plugin provides it")
        try:
            config = factory.Config.model_validate(dict(configs.get(name, {})))
        except ValidationError as exc:
            raise PluginError(_format_validation_error(name, exc)) from exc
        handler = factory(config)
        if not isinstance(handler, Handler):
            raise PluginError(f"handler {name!r} does not implement the Handler protocol")
        built.append(handler)
    return LoadedHandlers(tuple(built))
