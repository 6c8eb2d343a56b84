"""What moves a dial-out on once ACS has it: callback events, the confirmation menu's answer, the
end of the call; and what each step sets off (menu, announcement, removal, notification).

Consequences run in background tasks: a callback or a menu event is never held up by a slow ACS
or a slow NOTIFY_URL. Each one is triggered by the stored transition that made it due, and a
transition is stored once, so a duplicate or late event sets off nothing twice.

Events get lost (ACS documents no delivery guarantee; a bot that was down misses what came
meanwhile), so a ringing dial-out does not wait for its AddParticipant result alone: a call that
lists the phone means it answered, and once the ring timeout has passed with a margin and no
result came, ACS is asked whether the phone is in the call; if not, the dial-out failed unanswered.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
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
from bot.messages import Announce, MenuConfirmed, MenuEnded, MenuRefused, RunMenu
from handlers.dialout.model import DialOut, DialOutResult, DialOutStatus, dialout_id_of, operation_context
from handlers.dialout.service import DialOutService

logger = logging.getLogger(f"roombot.{__name__}")

# The events `DialOutReactions.on_event` acts on (the handler's declared `events`).
REACTS_TO: tuple[type[CallEvent], ...] = (
    ParticipantsUpdated,
    CallDisconnected,
    AddParticipantSucceeded,
    AddParticipantFailed,
    CancelAddParticipantSucceeded,
    CancelAddParticipantFailed,
)

CALL_ENDED = "The room's call ended before the dial-out completed."
DECLINED = "The called party declined."
HANGUP = "hangup"
# ACS's invitation timeout when the request sets none (the emulator's too), and how long after it
# a missing AddParticipant result is checked with ACS.
DEFAULT_RING_SECONDS = 60
RECONCILE_MARGIN_SECONDS = 15.0
# A connected phone the call's participant list does not show yet is looked up in ACS after this
# long, then at twice the interval each time (at most PRESENCE_CHECK_MAX_SECONDS): the
# ParticipantsUpdated that would list it may be lost, and may be the call's last.
PRESENCE_CHECK_SECONDS = 5.0
PRESENCE_CHECK_MAX_SECONDS = 60.0
UNANSWERED = DialOutResult(
    code=408,
    message="No result came for the invitation, and the phone was not in the call after the ring timeout.",
)


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
        # Calls with a dial-out not final yet: only their participant lists are worth a look.
        self._active_calls: set[str] = set()
        service.on_change = self.on_change

    async def resume(self, dialouts: list[DialOut]) -> None:
        """Finish what a stopped bot left half done."""
        for dialout in dialouts:
            if not dialout.is_final:
                self._active_calls.add(dialout.call_connection_id)
            if dialout.is_final and not dialout.notified:
                self._service.spawn(self._notify(dialout.id), name=f"dialout-notify:{dialout.id}")
            elif dialout.status is DialOutStatus.RINGING and dialout.cancel_requested:
                self._service.spawn(self._cancel(dialout), name=f"dialout-cancel:{dialout.id}")
            elif dialout.status is DialOutStatus.CONNECTED and not dialout.menu_started:
                await self._confirm_when_present(dialout)
            elif dialout.status is DialOutStatus.CONNECTED:
                # Its menu was being started when the bot stopped: ask for it again; the menus
                # handler refuses a second one for a participant whose session goes on.
                self._service.spawn(self._restart_menu(dialout), name=f"dialout-menu:{dialout.id}")
            elif dialout.status is DialOutStatus.RINGING:
                self._reconcile_later(dialout)

    async def on_change(self, before: DialOut, after: DialOut) -> None:
        if not after.is_final:
            self._active_calls.add(after.call_connection_id)
        if after.status is before.status:
            return
        if after.status is DialOutStatus.RINGING:
            self._reconcile_later(after)
        elif after.status is DialOutStatus.CONNECTED:
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
        if call_connection_id not in self._active_calls:
            return
        call = await self._services.registry.get(call_connection_id)
        listed = {p.raw_id for p in call.participants} if call is not None else set()
        now = self._service.clock()
        for unfinished in await self._service.store.unfinished_of_call(call_connection_id):
            if unfinished.status is DialOutStatus.RINGING and unfinished.participant_raw_id in listed:
                # In the call, so it answered, whether or not its AddParticipantSucceeded comes.
                await self._answered(unfinished, now)
        waiting = self._awaiting.get(call_connection_id)
        if not waiting:
            return
        for dialout_id in list(waiting):
            dialout = await self._service.store.get(dialout_id)
            if dialout is not None:
                await self._confirm_when_present(dialout)

    async def _call_ended(self, call_connection_id: str) -> None:
        self._awaiting.pop(call_connection_id, None)
        self._active_calls.discard(call_connection_id)
        now = self._service.clock()
        for dialout in await self._service.store.unfinished_of_call(call_connection_id):
            await self._service.apply(dialout.id, lambda d: d.failed(CALL_ENDED, now))
        await self._service.store.prune_if_due(now)

    # A ringing dial-out whose result never comes.

    def _reconcile_later(self, dialout: DialOut) -> None:
        ring = dialout.ring_timeout_seconds or DEFAULT_RING_SECONDS
        due = dialout.updated_at.timestamp() + ring + RECONCILE_MARGIN_SECONDS
        self._service.spawn(self._reconcile(dialout.id, due), name=f"dialout-reconcile:{dialout.id}")

    async def _reconcile(self, dialout_id: str, due: float) -> None:
        await asyncio.sleep(max(0.0, due - self._service.clock().timestamp()))
        dialout = await self._service.store.get(dialout_id)
        if dialout is None or dialout.status is not DialOutStatus.RINGING:
            return
        now = self._service.clock()
        try:
            listed = await self._services.acs.list_participants(dialout.call_connection_id)
        except AcsNotFound:
            await self._service.apply(dialout_id, lambda d: d.failed(CALL_ENDED, now))
            return
        except AcsError as exc:
            logger.warning("dial-out %s: cannot check the call (%s); checking again later", dialout_id, exc)
            self._service.spawn(
                self._reconcile(dialout_id, due + RECONCILE_MARGIN_SECONDS),
                name=f"dialout-reconcile:{dialout_id}",
            )
            return
        if dialout.participant_raw_id in {participant.raw_id for participant in listed}:
            logger.warning(
                "dial-out %s: no AddParticipant result came, yet the phone is in the call", dialout_id
            )
            await self._answered(dialout, now)
        else:
            logger.warning("dial-out %s: no result after the ring timeout and not in the call", dialout_id)
            await self._service.apply(dialout_id, lambda d: d.add_failed(UNANSWERED, now))

    async def _answered(self, dialout: DialOut, now: datetime) -> None:
        raw_id = dialout.participant_raw_id
        await self._service.apply(dialout.id, lambda d: d.joined(raw_id, now))

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
                if dialout.id not in waiting:
                    self._service.spawn(
                        self._check_presence(dialout.id, PRESENCE_CHECK_SECONDS),
                        name=f"dialout-presence:{dialout.id}",
                    )
                waiting.add(dialout.id)
        if not waiting:
            del self._awaiting[call_id]

    async def _check_presence(self, dialout_id: str, delay: float) -> None:
        """Still waiting for the call to list a connected phone: ask ACS whether it is there."""
        await asyncio.sleep(delay)
        dialout = await self._service.store.get(dialout_id)
        if dialout is None or dialout.status is not DialOutStatus.CONNECTED or dialout.menu_started:
            return
        if dialout_id not in self._awaiting.get(dialout.call_connection_id, set()):
            return
        try:
            listed = await self._services.acs.list_participants(dialout.call_connection_id)
        except AcsNotFound:
            return  # the call is over; its CallDisconnected (or the reconcile of calls) settles it
        except AcsError as exc:
            logger.warning("dial-out %s: cannot check the call (%s); checking again later", dialout_id, exc)
            listed = []
        if dialout.participant_raw_id in {participant.raw_id for participant in listed}:
            logger.warning(
                "dial-out %s: the call's participant list never showed the phone; ACS does", dialout_id
            )
            self._awaiting.get(dialout.call_connection_id, set()).discard(dialout_id)
            self._service.spawn(self._start_menu(dialout_id), name=f"dialout-menu:{dialout_id}")
            return
        later = min(PRESENCE_CHECK_MAX_SECONDS, delay * 2)
        self._service.spawn(self._check_presence(dialout_id, later), name=f"dialout-presence:{dialout_id}")

    async def _restart_menu(self, dialout: DialOut) -> None:
        await self._run_menu(dialout, resuming=True)

    async def _start_menu(self, dialout_id: str) -> None:
        change = await self._service.apply(dialout_id, lambda d: d.menu_starting(self._service.clock()))
        dialout = change.after if change is not None else None
        if dialout is not None:
            await self._run_menu(dialout, resuming=False)

    async def _run_menu(self, dialout: DialOut, *, resuming: bool) -> None:
        dialout_id = dialout.id
        if dialout.participant_raw_id is None:
            return
        command = RunMenu(
            call_connection_id=dialout.call_connection_id,
            participant_raw_id=dialout.participant_raw_id,
            menu=self._menu,
            context={"dialoutId": dialout.id},
        )
        try:
            await self._services.bus.execute(command)
        except MenuRefused as exc:
            if resuming and exc.reason == "busy":
                return  # the session started before the restart goes on
            logger.exception("dial-out %s: the confirmation menu %r could not start", dialout_id, self._menu)
            await self._fail_menu(dialout_id, exc)
        # The menu is another plugin's: whatever it raises, the interpreter must not stay
        # in the call unconfirmed.
        except Exception as exc:
            logger.exception("dial-out %s: the confirmation menu %r could not start", dialout_id, self._menu)
            await self._fail_menu(dialout_id, exc)

    async def _fail_menu(self, dialout_id: str, exc: Exception) -> None:
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
