"""Carrying out a menu's actions (`announce`, `dialout`, `notify`...) for one participant.

Work that belongs to another plugin goes over the bus: announcements (`Announce`), dial-outs
(`StartDialOut`), ending the call (`EndForEveryone`), confirmations (`MenuConfirmed`). When no
announcements plugin is loaded the menu plays the prompt itself, through the media scheduler, so
a bot running only the menus handler still speaks. A failing action is logged and the next one
runs: a notification that cannot be posted must not keep a caller from being connected.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.acs.types import AcsError
from bot.bus import NoCommandHandler
from bot.media.scheduler import CallEnded, MediaJob, MediaJobTimedOut, MediaJobUnconfirmed
from bot.messages import Announce as AnnounceCommand
from bot.messages import EndForEveryone as EndCommand
from bot.messages import MenuConfirmed, StartDialOut
from bot.services import BotServices
from config.menus.model import (
    Action,
    Announce,
    AnnounceToEveryone,
    Confirm,
    DialOut,
    EndForEveryone,
    Goto,
    Notify,
    RemoveParticipant,
)
from config.prompts import Prompt

logger = logging.getLogger(f"roombot.{__name__}")
# A play left unanswered is sent again only once the scheduler saw nothing come of it.
SAY_ATTEMPTS = 3


@dataclass(frozen=True)
class ActionScope:
    """Who an action runs for, and a ``tag`` unique to this run of it.

    The tag becomes the operation context of the ACS requests it makes and the idempotency key
    of a dial-out, so an action run again after a restart does not dial twice."""

    call_connection_id: str
    room_id: str
    participant: str
    tag: str
    session_id: str | None = None
    menu: str | None = None
    keys: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


class ActionRunner:
    def __init__(self, services: BotServices) -> None:
        self._services = services

    async def run(self, action: Action, scope: ActionScope) -> None:
        """Carry out one action; errors are logged, never raised."""
        try:
            await self._run(action, scope)
        except (AcsError, NoCommandHandler, CallEnded, MediaJobTimedOut, MediaJobUnconfirmed) as exc:
            logger.warning(
                "menu action %s for %s in call %s failed: %s",
                action.key,
                scope.participant,
                scope.call_connection_id,
                exc,
            )
        except Exception:
            # Another plugin's failure (a dial-out it refused, a bug) must not wedge the session:
            # its remaining actions and its end still run.
            logger.exception(
                "menu action %s for %s in call %s failed",
                action.key,
                scope.participant,
                scope.call_connection_id,
            )

    async def _run(self, action: Action, scope: ActionScope) -> None:
        services = self._services
        match action:
            case Announce(prompt=prompt):
                await self.say(prompt, scope, to=(scope.participant,))
            case AnnounceToEveryone(prompt=prompt):
                await self.say(prompt, scope, to=None)
            case DialOut():
                await services.bus.execute(
                    StartDialOut(
                        room_id=scope.room_id,
                        phone_number=action.phone_number,
                        caller_id=action.caller_id,
                        ring_timeout_seconds=action.ring_timeout_seconds,
                        confirm_with_dtmf=action.confirm_with_dtmf,
                        announcement=action.announcement,
                        idempotency_key=scope.tag,
                    )
                )
            case RemoveParticipant():
                await services.acs.participants.remove(
                    scope.call_connection_id, scope.participant, operation_context=scope.tag
                )
            case EndForEveryone():
                await services.bus.execute(EndCommand(scope.call_connection_id))
            case Notify(event=event, fields=fields):
                await services.notifier.notify(
                    event,
                    **fields,
                    roomId=scope.room_id,
                    participant=scope.participant,
                    menu=scope.menu,
                    sessionId=scope.session_id,
                    keys=scope.keys,
                )
            case Confirm(confirmed=confirmed):
                await services.bus.publish(
                    MenuConfirmed(
                        call_connection_id=scope.call_connection_id,
                        participant_raw_id=scope.participant,
                        confirmed=confirmed,
                        session_id=scope.session_id or "",
                        context=dict(scope.context),
                    )
                )
            case Goto():
                # The engine (or, for a hotkey, the handler) moves between menus.
                logger.debug("goto %s is not an action to run", action.menu)

    async def say(self, prompt: Prompt, scope: ActionScope, *, to: tuple[str, ...] | None) -> None:
        """Play ``prompt`` and return once it was heard (or could not be)."""
        services = self._services
        if services.bus.handles(AnnounceCommand):
            await services.bus.execute(
                AnnounceCommand(call_connection_id=scope.call_connection_id, prompt=prompt, to=to, wait=True)
            )
            return

        async def play() -> None:
            await services.acs.media.play(
                scope.call_connection_id, [prompt], to=to, operation_context=scope.tag
            )

        for attempt in range(1, SAY_ATTEMPTS + 1):
            job = MediaJob(
                scope.call_connection_id,
                scope.tag,
                play,
                targets=frozenset(to) if to is not None else None,
                expected_seconds=prompt.longest_seconds,
            )
            try:
                await services.media.submit(job).done
                return
            except MediaJobUnconfirmed:
                # Unanswered and nothing came of it in its time: it did not start, send it again.
                if attempt == SAY_ATTEMPTS:
                    raise
