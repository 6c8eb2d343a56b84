"""What moves a dial-out on once ACS has it: callback events, the confirmation menu's answer, the
end of the call; and what each step sets off (menu, announcement, removal, notification).

Consequences run in background tasks: a callback or a menu event is never held up by a slow ACS
or a slow NOTIFY_URL. Each one is triggered by the stored transition that made it due, and a
transition is stored once, so a duplicate or late event sets off nothing twice.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.acs.types import AcsError, AcsNotFound
from bot.events import (
    AddParticipantFailed,
    AddParticipantSucceeded,
    CallDisconnected,
    CallEvent,
    CancelAddParticipantFailed,
    CancelAddParticipantSucceeded,
    ParticipantsUpdated,
)
from bot.messages import Announce, MenuConfirmed, MenuEnded, RunMenu
from handlers.dialout.model import DialOut, DialOutResult, DialOutStatus, dialout_id_of, operation_context
from handlers.dialout.service import DialOutService

logger = logging.getLogger(f"roombot.{__name__}")

CALL_ENDED = "The room's call ended before the dial-out completed."
DECLINED = "The called party declined."
HANGUP = "hangup"


def _dialout_id(context: dict[str, Any]) -> str | None:
    value = context.get("dialoutId")
    return value if isinstance(value, str) and value else None


def _event_result(event: CallEvent) -> DialOutResult:
    info = event.result
    if info is None:
        return DialOutResult(message="ACS reported the invitation failed without a reason.")
    return DialOutResult(code=info.code, sub_code=info.sub_code, message=info.message)


class DialOutReactions:
    def __init__(self, service: DialOutService, *, confirm_menu: str) -> None:
        self._service = service
        self._services = service.services
        self._menu = confirm_menu
        # Per call: connected dial-outs whose participant the call does not list yet. The menu
        # waits for them: ACS may post AddParticipantSucceeded before the ParticipantsUpdated.
        self._awaiting: dict[str, set[str]] = {}
        self._notifying: set[str] = set()
        service.on_change = self.on_change

    async def resume(self, dialouts: list[DialOut]) -> None:
        """Finish what a stopped bot left half done."""
        for dialout in dialouts:
            if dialout.is_final and not dialout.notified:
                self._service.spawn(self._notify(dialout.id), name=f"dialout-notify:{dialout.id}")
            elif dialout.status is DialOutStatus.RINGING and dialout.cancel_requested:
                self._service.spawn(self._cancel(dialout), name=f"dialout-cancel:{dialout.id}")
            elif dialout.status is DialOutStatus.CONNECTED and not dialout.menu_started:
                await self._confirm_when_present(dialout)

    async def on_change(self, before: DialOut, after: DialOut) -> None:
        if after.status is before.status:
            return
        if after.status is DialOutStatus.CONNECTED:
            await self._confirm_when_present(after)
        elif after.status is DialOutStatus.CONFIRMED and after.announcement is not None:
            self._service.spawn(self._announce(after), name=f"dialout-announce:{after.id}")
        if after.is_final:
            logger.info("dial-out %s %s", after.id, after.status)
            self._service.spawn(self._notify(after.id), name=f"dialout-notify:{after.id}")

    # Callback events.

    async def on_event(self, event: CallEvent) -> None:
        if isinstance(event, ParticipantsUpdated):
            await self._participants_changed(event.call_connection_id)
            return
        if isinstance(event, CallDisconnected):
            await self._call_ended(event.call_connection_id)
            return
        dialout_id = dialout_id_of(event.operation_context)
        if dialout_id is None:
            return
        now = self._service.clock()
        if isinstance(event, AddParticipantSucceeded):
            change = await self._service.apply(dialout_id, lambda d: d.joined(event.participant_raw_id, now))
            current = (change.after or change.before) if change is not None else None
            if current is not None and current.status is DialOutStatus.CANCELLED:
                # Cancelled, yet the phone answered first: a cancelled dial-out never stays.
                raw_id = event.participant_raw_id or current.participant_raw_id
                self._remove(current.model_copy(update={"participant_raw_id": raw_id}))
        elif isinstance(event, AddParticipantFailed):
            result = _event_result(event)
            await self._service.apply(dialout_id, lambda d: d.add_failed(result, now))
        elif isinstance(event, CancelAddParticipantSucceeded):
            await self._service.apply(dialout_id, lambda d: d.cancelled(now))
        elif isinstance(event, CancelAddParticipantFailed):
            logger.warning("dial-out %s: ACS could not cancel the invitation: %s", dialout_id, event.result)

    async def _participants_changed(self, call_connection_id: str) -> None:
        waiting = self._awaiting.get(call_connection_id)
        if not waiting:
            return
        for dialout_id in list(waiting):
            dialout = await self._service.store.get(dialout_id)
            if dialout is not None:
                await self._confirm_when_present(dialout)

    async def _call_ended(self, call_connection_id: str) -> None:
        self._awaiting.pop(call_connection_id, None)
        now = self._service.clock()
        for dialout in await self._service.store.unfinished_of_call(call_connection_id):
            await self._service.apply(dialout.id, lambda d: d.failed(CALL_ENDED, now))
        await self._service.store.prune_if_due(now)

    # The confirmation menu.

    async def _confirm_when_present(self, dialout: DialOut) -> None:
        """Run the confirmation menu once the call lists the participant; until then, wait."""
        call_id = dialout.call_connection_id
        waiting = self._awaiting.setdefault(call_id, set())
        waiting.discard(dialout.id)
        if dialout.status is DialOutStatus.CONNECTED and not dialout.menu_started:
            call = await self._services.registry.get(call_id)
            listed = {p.raw_id for p in call.participants} if call is not None else set()
            if dialout.participant_raw_id in listed:
                self._service.spawn(self._start_menu(dialout.id), name=f"dialout-menu:{dialout.id}")
            else:
                waiting.add(dialout.id)
        if not waiting:
            del self._awaiting[call_id]

    async def _start_menu(self, dialout_id: str) -> None:
        change = await self._service.apply(dialout_id, lambda d: d.menu_starting(self._service.clock()))
        dialout = change.after if change is not None else None
        if dialout is None or dialout.participant_raw_id is None:
            return
        command = RunMenu(
            call_connection_id=dialout.call_connection_id,
            participant_raw_id=dialout.participant_raw_id,
            menu=self._menu,
            context={"dialoutId": dialout.id},
        )
        try:
            await self._services.bus.execute(command)
        # The menu is another plugin's: whatever it raises, the interpreter must not stay
        # in the call unconfirmed.
        except Exception as exc:
            logger.exception("dial-out %s: the confirmation menu %r could not start", dialout_id, self._menu)
            message = f"The confirmation menu {self._menu!r} could not start: {exc}"
            failed = await self._service.apply(dialout_id, lambda d: d.failed(message, self._service.clock()))
            if failed is not None and failed.after is not None:
                self._remove(failed.after)

    async def on_menu_confirmed(self, message: MenuConfirmed) -> None:
        await self._settle(message.context, message.participant_raw_id, message.confirmed, DECLINED)

    async def on_menu_ended(self, message: MenuEnded) -> None:
        reason = f"The confirmation menu ended without an answer ({message.reason})."
        await self._settle(message.context, message.participant_raw_id, False, reason, message.reason)

    async def _settle(
        self,
        context: dict[str, Any],
        participant_raw_id: str,
        confirmed: bool,
        reason: str,
        ended_by: str | None = None,
    ) -> None:
        dialout_id = _dialout_id(context)
        if dialout_id is None:
            return
        now = self._service.clock()

        def settle(dialout: DialOut) -> DialOut | None:
            if dialout.participant_raw_id not in (None, participant_raw_id):
                return None
            return dialout.settled(confirmed, now, reason)

        change = await self._service.apply(dialout_id, settle)
        declined = change.after if change is not None else None
        # A participant who hung up is gone already; one who declined is shown out.
        if declined is not None and declined.status is DialOutStatus.DECLINED and ended_by != HANGUP:
            self._remove(declined)

    # Consequences.

    def _remove(self, dialout: DialOut) -> None:
        if dialout.participant_raw_id is not None:
            self._service.spawn(self._remove_now(dialout), name=f"dialout-remove:{dialout.id}")

    async def _remove_now(self, dialout: DialOut) -> None:
        assert dialout.participant_raw_id is not None
        try:
            await self._services.acs.participants.remove(
                dialout.call_connection_id,
                dialout.participant_raw_id,
                operation_context=operation_context(dialout.id, "remove"),
            )
        except AcsNotFound:
            pass  # already gone: hung up, or removed by the menu itself
        except AcsError:
            logger.exception("dial-out %s: could not remove %s", dialout.id, dialout.participant_raw_id)

    async def _cancel(self, dialout: DialOut) -> None:
        try:
            await self._service.cancel_invitation(dialout)
        except AcsError:
            logger.exception("dial-out %s: could not cancel the invitation", dialout.id)

    async def _announce(self, dialout: DialOut) -> None:
        assert dialout.announcement is not None
        try:
            await self._services.bus.execute(Announce(dialout.call_connection_id, dialout.announcement))
        # Another plugin's command: its failure is logged, the dial-out stays confirmed.
        except Exception:
            logger.exception("dial-out %s: the announcement could not be played", dialout.id)

    async def _notify(self, dialout_id: str) -> None:
        if dialout_id in self._notifying:
            return
        self._notifying.add(dialout_id)
        try:
            dialout = await self._service.store.get(dialout_id)
            if dialout is None or not dialout.is_final or dialout.notified:
                return
            await self._services.notifier.notify(f"dialout.{dialout.status}", **dialout.view())
            await self._service.store.update(dialout_id, lambda d: d.marked_notified())
        finally:
            self._notifying.discard(dialout_id)
