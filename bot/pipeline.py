"""From one parsed callback event to the handlers: registry update, routing, failure isolation."""

from __future__ import annotations

import logging

from bot.acs import AcsError
from bot.events import CallConnected, CallDisconnected, CallEvent, ConnectFailed, ParticipantsUpdated
from bot.handlers import CallContext, Handler, owner_of
from bot.logs import bind_log_context
from bot.plugins import LoadedHandlers
from bot.services import BotServices

logger = logging.getLogger(f"roombot.{__name__}")

# Events about the call itself reach every handler. ACS echoes the operationContext of the
# connect request in CallConnected and CallDisconnected: that tags who joined, not an operation
# a handler started, so it must not route them (it would send them to no handler at all).
CALL_EVENTS = (CallConnected, CallDisconnected, ConnectFailed, ParticipantsUpdated)
# Ids of the events the bot makes up itself (`bot.calls.gone_event`), after asking ACS already.
MADE_UP_PREFIX = "roombot:"
# callConnectionState values of a call that is on (Call Automation REST API, CallConnectionState).
LIVE_ACS_STATES = frozenset({"connecting", "connected", "transferring", "transferAccepted"})


def wants(handler: Handler, event_type: type[CallEvent]) -> bool:
    """Whether a handler is to be given events of this type: those of its ``events`` (a tuple of
    event classes, subclasses included), or every one when it declares none."""
    declared: tuple[type[CallEvent], ...] | None = getattr(handler, "events", None)
    return declared is None or issubclass(event_type, declared)


class EventPipeline:
    """Processes the events of one call in order; the dispatcher calls :meth:`process`."""

    def __init__(self, services: BotServices, handlers: LoadedHandlers) -> None:
        self._services = services
        self._handlers = handlers
        # Per event class, the handlers that take it: worked out once, not for every event.
        self._wanted: dict[type[CallEvent], tuple[Handler, ...]] = {}

    def _recipients(self, event: CallEvent) -> tuple[Handler, ...]:
        kind = type(event)
        wanted = self._wanted.get(kind)
        if wanted is None:
            wanted = self._wanted[kind] = tuple(h for h in self._handlers if wants(h, kind))
        owner = None if isinstance(event, CALL_EVENTS) else owner_of(event.operation_context)
        if owner is None:
            return wanted
        return tuple(handler for handler in wanted if handler.name == owner)

    async def process(self, event: CallEvent) -> bool:
        """Run the event through the registry and every recipient handler. False when the registry
        holds it back (its call is not registered yet): it is not finished with."""
        # A callback token is not bound to its body: within its five minutes, one leaked token
        # could end any call in the bot's books. ACS has the last word.
        if (
            isinstance(event, CallDisconnected)
            and not event.id.startswith(MADE_UP_PREFIX)
            and await self._acs_says_running(event.call_connection_id)
        ):
            logger.warning(
                "ignoring CallDisconnected %s: ACS says call %s is still running",
                event.id,
                event.call_connection_id,
            )
            return True
        call = await self._services.registry.apply(event)
        if call is None:
            # Held by the registry: the connect that made the call hands it back to be submitted
            # again, or it expires (another bot's event).
            logger.info(
                "event %s %s for unknown call %s held until the call is registered",
                event.type,
                event.id,
                event.call_connection_id,
            )
            return False
        # The scheduler frees the media slot an event completes before any handler reacts to it,
        # so a handler that queues its next prompt on PlayCompleted gets it started at once.
        await self._services.media.observe(event)
        bind_log_context(room_id=call.room_id)
        for handler in self._recipients(event):
            ctx = CallContext(call=call, services=self._services, handler_name=handler.name)
            try:
                await handler.on_event(event, ctx)
            except Exception:
                # A failing handler must not stop the others: log with the call id and go on.
                self._services.metrics.handler_failures.labels(handler=handler.name).inc()
                logger.exception(
                    "handler %s failed on %s (event %s) in call %s",
                    handler.name,
                    event.type,
                    event.id,
                    call.call_connection_id,
                )
        return True

    async def _acs_says_running(self, call_connection_id: str) -> bool:
        """True only when ACS clearly answers that the call is on; when it cannot be asked, the
        signed event is believed."""
        call = await self._services.registry.get(call_connection_id)
        if call is None or not call.is_live:
            return False
        try:
            info = await self._services.acs.get_call(call_connection_id)
        except AcsError:
            return False
        return info.state in LIVE_ACS_STATES
