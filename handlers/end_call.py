"""`end_call`: end a room's call for everyone, on request or when the room's validity ends.

ACS keeps a room call running past the room's ``validUntil`` for whoever is already in it, and
deleting a room does not drop PSTN legs; only ``:terminate`` ends the call for every participant.
This handler schedules that terminate at ``validUntil`` for each call the bot joins, and keeps the
schedule in the state store so that a restarted bot still ends the call on time.

``warning_seconds`` before the end, everyone hears a warning, announced through the bus
(`Announce`, handled by the ``announcements`` handler). A warning whose time has passed when the
bot joins (or restarts) is skipped rather than said late; one already said is not repeated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bot.acs import AcsError
from bot.bus import NoCommandHandler
from bot.events import CallConnected, CallDisconnected, CallEvent
from bot.handlers import BaseHandler, CallContext
from bot.messages import Announce
from bot.services import BotServices
from bot.state.base import CallRecord
from bot.timeline import History, TimelineItem
from bot.timers import Timers
from config.prompts import Prompt

logger = logging.getLogger(f"roombot.{__name__}")

NAMESPACE = "end_call"


class EndCallConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_at_valid_until: bool = Field(
        default=True, description="Terminate the call for everyone when the room's validUntil passes."
    )
    warning_seconds: int = Field(
        default=60, ge=0, description="Warn everyone this long before the end; 0: no warning."
    )
    warning: Prompt | None = Field(
        default=None,
        description='What they hear; default "This session ends in one minute." (per the delay).',
    )

    def warning_prompt(self) -> Prompt:
        return self.warning or Prompt(text=f"This session ends in {spoken_delay(self.warning_seconds)}.")


_SMALL_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count(number: int, unit: str) -> str:
    spoken = _SMALL_NUMBERS[number] if number < len(_SMALL_NUMBERS) else str(number)
    return f"{spoken} {unit}{'' if number == 1 else 's'}"


def spoken_delay(seconds: int) -> str:
    """``60`` → "one minute", ``90`` → "one minute and 30 seconds", ``45`` → "45 seconds"."""
    minutes, rest = divmod(seconds, 60)
    parts = [_count(minutes, "minute")] if minutes else []
    if rest or not minutes:
        parts.append(_count(rest, "second"))
    return " and ".join(parts)


class EndCallHandler(BaseHandler):
    name: ClassVar[str] = "end_call"
    events: ClassVar[tuple[type[CallEvent], ...]] = (CallConnected, CallDisconnected)
    Config: ClassVar[type[BaseModel]] = EndCallConfig

    def __init__(self, config: EndCallConfig) -> None:
        self.config = config
        # Call-long waits: a handle on the event loop's timer heap each, no task until due.
        self.ends = Timers("end_call")
        self.warnings = Timers("end_call:warning")

    def prompts(self) -> Iterable[tuple[str, Prompt]]:
        if not self.config.end_at_valid_until or self.config.warning_seconds == 0:
            return []
        return [
            ("handler 'end_call': warning (warning_seconds 0 turns it off)", self.config.warning_prompt())
        ]

    async def start(self, services: BotServices) -> None:
        await super().start(services)
        if not self.config.end_at_valid_until:
            return
        for doc in await services.store.list_docs(NAMESPACE):
            call = await services.registry.get(doc["callConnectionId"])
            if call is None or call.ended_at is not None:
                await services.store.delete_doc(NAMESPACE, doc["callConnectionId"])
                continue
            self._schedule(doc["callConnectionId"], datetime.fromisoformat(doc["endAt"]))
            if doc.get("warnAt") and not doc.get("warned"):
                self._schedule_warning(doc["callConnectionId"], datetime.fromisoformat(doc["warnAt"]))

    async def stop(self) -> None:
        await self.ends.stop()
        await self.warnings.stop()

    async def on_event(self, event: CallEvent, ctx: CallContext) -> None:
        if isinstance(event, CallConnected) and ctx.call.ended_at is not None:
            # Delivered after CallDisconnected (ACS promises no order): nothing is left to end.
            return
        if isinstance(event, CallConnected) and self.config.end_at_valid_until:
            room = await self.services.acs.get_room(ctx.room_id)
            warn_at = self._warn_at(room.valid_until)
            await self.services.store.put_doc(
                NAMESPACE,
                ctx.call_connection_id,
                {
                    "callConnectionId": ctx.call_connection_id,
                    "endAt": room.valid_until.isoformat(),
                    "warnAt": warn_at.isoformat() if warn_at else None,
                    "warned": False,
                },
            )
            self._schedule(ctx.call_connection_id, room.valid_until)
            if warn_at is not None:
                self._schedule_warning(ctx.call_connection_id, warn_at)
        elif isinstance(event, CallDisconnected):
            self.ends.cancel(ctx.call_connection_id)
            self.warnings.cancel(ctx.call_connection_id)
            await self.services.store.delete_doc(NAMESPACE, ctx.call_connection_id)

    async def timeline(self, call: CallRecord, history: History) -> list[TimelineItem]:
        """The scheduled end and its warning on the console's timeline (`bot.timeline.TimelineSource`)."""
        doc = await self.services.store.get_doc(NAMESPACE, call.call_connection_id)
        if doc is None:
            return []
        end_at = datetime.fromisoformat(doc["endAt"])
        items = [
            TimelineItem(
                lane="end",
                id="end_call:end",
                label="ends for everyone at the room's validUntil",
                start=end_at,
                status="scheduled",
                point=True,
            )
        ]
        if doc.get("warnAt"):
            items.append(
                TimelineItem(
                    lane="end",
                    id="end_call:warning",
                    label=f"warning: {self.config.warning_prompt().text or 'prompt'}",
                    start=datetime.fromisoformat(doc["warnAt"]),
                    status="said" if doc.get("warned") else "scheduled",
                    point=True,
                    audience="everyone",
                )
            )
        return items

    async def end_for_everyone(self, call_connection_id: str) -> None:
        """Hang up the call for every participant; CallDisconnected follows."""
        await self.services.acs.terminate(call_connection_id)

    def _schedule(self, call_connection_id: str, end_at: datetime) -> None:
        """End the call at ``end_at``, instead of any end scheduled or under way."""
        delay = (end_at - datetime.now(UTC)).total_seconds()
        self.ends.schedule(call_connection_id, delay, self._end_now, call_connection_id)

    async def _end_now(self, call_connection_id: str) -> None:
        logger.info("room validity ended: ending call %s for everyone", call_connection_id)
        try:
            await self.end_for_everyone(call_connection_id)
        except AcsError:
            logger.exception("could not end call %s at the end of its room's validity", call_connection_id)

    def _warn_at(self, end_at: datetime) -> datetime | None:
        if self.config.warning_seconds == 0:
            return None
        return end_at - timedelta(seconds=self.config.warning_seconds)

    def _schedule_warning(self, call_connection_id: str, warn_at: datetime) -> None:
        self.warnings.cancel(call_connection_id)
        delay = (warn_at - datetime.now(UTC)).total_seconds()
        if delay <= 0:
            logger.info(
                "call %s joined after its end-of-session warning time: no warning", call_connection_id
            )
            return
        self.warnings.schedule(call_connection_id, delay, self._warn_now, call_connection_id)

    async def _warn_now(self, call_connection_id: str) -> None:
        try:
            await self.services.bus.execute(Announce(call_connection_id, self.config.warning_prompt()))
        except NoCommandHandler:
            logger.warning(
                "no announcements handler is loaded: call %s gets no end warning", call_connection_id
            )
        except (AcsError, LookupError):
            logger.exception("could not warn call %s of its end", call_connection_id)
        else:
            doc = await self.services.store.get_doc(NAMESPACE, call_connection_id)
            if doc is not None:
                await self.services.store.put_doc(NAMESPACE, call_connection_id, {**doc, "warned": True})
