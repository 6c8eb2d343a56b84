"""The handler plugin contract: what a plugin implements and what it is given.

A handler is registered under the ``roombot.handlers`` entry-point group. The entry point names a
*factory* (normally the handler class): it carries ``name`` and a pydantic ``Config`` model. Life
cycle, in two phases because aiohttp freezes its router before any I/O can happen:

1. ``factory(config)`` when the app is built: the config is validated, routes are declared; no I/O.
2. ``await handler.start(services)`` when the bot starts processing (at start-up, or when this
   replica becomes the leader of several): the shared services (ACS facade, state store, registry,
   HTTP session, notifier, message bus) are handed over; register bus commands here.
3. ``await handler.resume()``, optional, once every handler has started: carry on what the store
   says was under way (it may call other handlers' bus commands, now all registered).
   ``await handler.stop()`` at shutdown, or when this replica stops leading; ``start`` may then
   come again later with new services.

The handler then receives every event of every call the bot is in, with a frozen per-call context.

Delivery is at least once, in order per call. An event reaches the handlers after it is durably
stored (`bot.intake`), and leaves the store once every recipient has returned. A bot that dies in
between processes the event again when it starts (the same ``event.id``, the same order), and a
handler's background work may be cut off at any point. So a handler must be idempotent per event:

- keep its state in the state store, as a record that only moves forward (a dial-out's status, a
  menu session's try number), and ignore an event that would not move it (``event.id`` or the
  operation context it tagged tells which step an event answers);
- make each consequence follow from a stored transition, not from the event itself, so that a
  replayed event, which changes nothing, sets off nothing twice;
- resume in ``start`` what was under way (the built-ins re-arm their timers from stored times:
  ring timeouts, menu tries, plays in progress).

Events get lost too (ACS documents no delivery guarantee): a handler waiting for one bounds the
wait and then checks with ACS or moves on, so that a lost event costs time, not the outcome.

A handler may declare the event classes it acts on as a class attribute ``events`` (a tuple;
subclasses count): it is then given only those, and the pipeline skips it for the rest. Without
one it is given every event. The built-ins declare theirs.

Ownership of ``operationContext``: a handler tags the media and participant operations it starts
with ``ctx.operation_context("...")`` (prefix ``<name>:``). Events that carry an operation context
go only to the handler that owns its prefix; events without one (CallConnected, ParticipantsUpdated,
CallDisconnected, ...) go to every handler.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from aiohttp import web
from pydantic import BaseModel

from bot.events import CallEvent
from bot.state.base import CallRecord
from config.prompts import Prompt

if TYPE_CHECKING:
    from bot.services import BotServices

logger = logging.getLogger(f"roombot.{__name__}")

OPERATION_CONTEXT_SEPARATOR = ":"


@dataclass(frozen=True)
class CallContext:
    """What a handler knows about the call an event belongs to, frozen at dispatch time."""

    call: CallRecord
    services: BotServices
    handler_name: str

    @cached_property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """The handler's logger (``roombot.handlers.<name>``), each record tagged with the call's
        and the room's ids. Made on first use: most events reach handlers that log nothing."""
        logger = logging.getLogger(f"roombot.handlers.{self.handler_name}")
        extra = {"call_connection_id": self.call_connection_id, "room_id": self.room_id}
        return logging.LoggerAdapter(logger, extra)

    @property
    def call_connection_id(self) -> str:
        return self.call.call_connection_id

    @property
    def room_id(self) -> str:
        return self.call.room_id

    def operation_context(self, suffix: str) -> str:
        """An operationContext value owned by this handler."""
        return f"{self.handler_name}{OPERATION_CONTEXT_SEPARATOR}{suffix}"


@runtime_checkable
class Handler(Protocol):
    """A plugin reacting to call events and, optionally, exposing HTTP routes."""

    name: ClassVar[str]

    async def start(self, services: BotServices) -> None:
        """Called once when the bot starts, after the state store and ACS client are ready.

        Resume work that must survive a restart here (timers, pending operations)."""

    async def stop(self) -> None:
        """Called once at shutdown: cancel background tasks, flush state."""

    async def on_event(self, event: CallEvent, ctx: CallContext) -> None:
        """Called for each event of a call the handler should see, in the call's order, at least
        once: after a crash, the same event may come again (see the module docstring).

        An exception is logged with the call id and does not reach other handlers."""

    def routes(self) -> Iterable[web.RouteDef]:
        """HTTP routes the handler contributes (backend triggers); may be empty."""

    def openapi_paths(self) -> Mapping[str, Any]:
        """The OpenAPI 3.1 path items describing :meth:`routes`."""


@dataclass(frozen=True)
class Reference:
    """Something a handler's configuration names that another handler provides, e.g. the dial-out's
    confirmation menu (``kind`` "menu"); ``where`` says which setting names it."""

    kind: str
    name: str
    where: str


class HandlerFactory(Protocol):
    """What a ``roombot.handlers`` entry point refers to: usually the handler class itself."""

    # Read-only properties rather than ClassVars: a type checker matches a class object against
    # a protocol only through members like these, so `{"name": MyHandler}` type-checks.
    @property
    def name(self) -> str: ...

    @property
    def Config(self) -> type[BaseModel]: ...

    def __call__(self, config: Any) -> Handler: ...


def owner_of(operation_context: str | None) -> str | None:
    """The handler name an operationContext belongs to, or None for untagged events."""
    if not operation_context or OPERATION_CONTEXT_SEPARATOR not in operation_context:
        return None
    return operation_context.split(OPERATION_CONTEXT_SEPARATOR, 1)[0]


class BaseHandler:
    """Convenience base: keeps the services handed over at start-up and does nothing else.

    A handler that only reacts to events overrides :meth:`on_event`."""

    name: ClassVar[str] = ""
    # The event classes `on_event` acts on (see the module docstring); None: every event.
    events: ClassVar[tuple[type[CallEvent], ...] | None] = None
    _services: BotServices | None = None

    @property
    def services(self) -> BotServices:
        if self._services is None:
            raise RuntimeError(f"handler {self.name!r} used before the bot started")
        return self._services

    async def start(self, services: BotServices) -> None:
        self._services = services

    async def stop(self) -> None:
        """Nothing to release by default."""

    async def on_event(self, event: CallEvent, ctx: CallContext) -> None:
        """Ignore events by default."""

    def routes(self) -> Iterable[web.RouteDef]:
        return ()

    def openapi_paths(self) -> Mapping[str, Any]:
        return {}

    # Optional, checked at start-up (`bot.checks`); a handler without them provides, names and
    # says nothing.

    def provides(self) -> Mapping[str, Collection[str]]:
        """Names other handlers may refer to, by kind: the menus handler's ``{"menu": {...}}``."""
        return {}

    def references(self) -> Iterable[Reference]:
        """What this handler's configuration refers to by name; each must be provided."""
        return ()

    def prompts(self) -> Iterable[tuple[str, Prompt]]:
        """The prompts this handler's configuration holds, each with where it is set: text and
        SSML ones need ACS to have an AI services endpoint."""
        return ()
