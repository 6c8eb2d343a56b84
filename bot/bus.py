"""A small in-process message bus: how handlers ask each other for work without importing
each other (handlers import `bot/`, never another handler).

Commands have exactly one handler and return its result; the caller sees its errors. Events
have any number of subscribers; a failing subscriber is logged and the others still run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

logger = logging.getLogger(f"roombot.{__name__}")

M = TypeVar("M")
CommandHandler = Callable[[Any], Awaitable[Any]]
EventHandler = Callable[[Any], Awaitable[None]]


class NoCommandHandler(LookupError):
    """No handler is registered for a command: the plugin that provides it is not loaded."""


class MessageBus:
    def __init__(self) -> None:
        self._commands: dict[type[Any], CommandHandler] = {}
        self._subscribers: defaultdict[type[Any], list[EventHandler]] = defaultdict(list)

    def handle(self, command_type: type[M], handler: Callable[[M], Awaitable[Any]]) -> None:
        if command_type in self._commands:
            raise ValueError(f"{command_type.__name__} already has a handler")
        self._commands[command_type] = handler

    def subscribe(self, event_type: type[M], subscriber: Callable[[M], Awaitable[None]]) -> None:
        self._subscribers[event_type].append(subscriber)

    def handles(self, command_type: type[Any]) -> bool:
        return command_type in self._commands

    async def execute(self, command: object) -> Any:
        handler = self._commands.get(type(command))
        if handler is None:
            raise NoCommandHandler(f"no handler is loaded for {type(command).__name__}")
        return await handler(command)

    async def publish(self, event: object) -> None:
        for subscriber in list(self._subscribers.get(type(event), ())):
            try:
                await subscriber(event)
            except Exception:
                logger.exception("subscriber %r failed on %s", subscriber, type(event).__name__)
