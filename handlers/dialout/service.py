"""Placing dial-outs exactly once: create, send the invitation, cancel, resume after a restart.

Exactly once rests on two durable facts written before ACS is asked anything:
- the dial-out record, with the ``Repeatability-Request-ID`` of its invitation. Every attempt
  sends that id (the retry policy's retries, later resends, a resend after a restart), and ACS
  answers a repeated id with its first result instead of ringing the phone again;
- the ``Idempotency-Key`` claim (``put_doc_if_absent``), which binds a key to one dial-out: a
  repeated trigger, even a concurrent one, answers that dial-out instead of making another.

The record is written before the key is claimed, so a claimed key always has its record. A record
whose key was never claimed (the process died in between, or another process won the claim) was
never answered to anyone and is dropped when the bot resumes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from bot.acs.retry import REPEATABILITY_FIRST_SENT, repeatability_headers
from bot.acs.types import AcsError, AcsNotFound, AcsUnavailable
from bot.locks import KeyedLocks
from bot.services import BotServices
from bot.state.base import CallState
from bot.stopping import cancel_and_wait
from handlers.dialout.errors import (
    DialOutNotAllowed,
    DialOutNotFound,
    IdempotencyKeyReused,
    InvalidDialOut,
    NoLiveCall,
    NotCancellable,
    RoomNotFound,
)
from handlers.dialout.model import (
    DialOut,
    DialOutRequest,
    DialOutResult,
    DialOutStatus,
    operation_context,
    request_fingerprint,
)
from handlers.dialout.store import Change, DialOutStore, KeyClaim

logger = logging.getLogger(f"roombot.{__name__}")

# Resends wait this long after the first unanswered attempt, doubling up to the maximum.
RESEND_MAX_DELAY_SECONDS = 60.0
GAVE_UP = (
    "ACS could not be reached to place the call; the bot stopped resending before ACS forgets the"
    " request's repeatability id, so that the phone cannot ring twice."
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def acs_result(exc: AcsError) -> DialOutResult:
    """ACS's refusal of the invitation as a dial-out result (its error code is a number, e.g. 8523)."""
    sub_code = int(exc.code) if exc.code is not None and exc.code.isdigit() else None
    return DialOutResult(code=exc.status, sub_code=sub_code, message=exc.message)


class DialOutService:
    """Creates and sends dial-outs; `handlers.dialout.reactions` moves them on from events."""

    def __init__(
        self,
        services: BotServices,
        *,
        resend_delay_seconds: float,
        resend_window_seconds: float,
        keep_finished: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.services = services
        self.store = DialOutStore(services.store, keep_finished=keep_finished)
        self.clock = clock
        self._resend_delay = resend_delay_seconds
        self._resend_window = resend_window_seconds
        self._key_locks = KeyedLocks()
        # Dial-outs whose invitation request is on its way to ACS: a cancel must wait for its answer.
        self.sending: set[str] = set()
        self._resends: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Called with (before, after) after every stored transition; set by the reactions.
        self.on_change: Callable[[DialOut, DialOut], Coroutine[Any, Any, None]] | None = None

    # Background work: never blocks a callback or an HTTP answer, always awaited at shutdown.

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("dial-out task %s failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        await cancel_and_wait(self._tasks)

    # Reading and changing records.

    async def get(self, dialout_id: str) -> DialOut:
        dialout = await self.store.get(dialout_id)
        if dialout is None:
            raise DialOutNotFound(f"There is no dial-out {dialout_id}.")
        return dialout

    async def apply(self, dialout_id: str, change: Callable[[DialOut], DialOut | None]) -> Change | None:
        """Store a transition and run its consequences (menu, announcement, notification...)."""
        result = await self.store.update(dialout_id, change)
        if result is not None and result.after is not None and self.on_change is not None:
            await self.on_change(result.before, result.after)
        return result

    # Creating.

    async def start(
        self, room_id: str, request: DialOutRequest, idempotency_key: str | None
    ) -> tuple[DialOut, bool]:
        """The dial-out for this trigger and whether it is new (False: a repeat of the key)."""
        if idempotency_key is None:
            dialout = await self._create(room_id, request, None)
        else:
            fingerprint = request_fingerprint(room_id, request)
            async with self._key_locks[idempotency_key]:
                claim = await self.store.claim_of(idempotency_key)
                if claim is not None:
                    return await self._replay(claim, fingerprint), False
                dialout = await self._create(room_id, request, idempotency_key)
                claim = await self.store.claim(idempotency_key, fingerprint, dialout.id)
                if claim is not None:
                    # Another bot process claimed the key first: this record was never promised.
                    await self.store.delete(dialout)
                    return await self._replay(claim, fingerprint), False
        await self.send(dialout.id)
        return await self.get(dialout.id), True

    async def _replay(self, claim: KeyClaim, fingerprint: str) -> DialOut:
        if claim.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"This Idempotency-Key was first used for another request (dial-out {claim.dialout_id});"
                " send a new key for a new dial-out."
            )
        return await self.get(claim.dialout_id)

    async def _create(self, room_id: str, request: DialOutRequest, key: str | None) -> DialOut:
        caller_id = request.caller_id or self.services.settings.pstn_caller_id
        if caller_id is None:
            raise InvalidDialOut("callerId: required, since ROOMBOT_PSTN_CALLER_ID is not set.")
        try:
            room = await self.services.acs.get_room(room_id)
        except AcsNotFound:
            raise RoomNotFound(f"ACS knows no room {room_id}.") from None
        if not room.pstn_dial_out_enabled:
            raise DialOutNotAllowed(f"Room {room_id} does not allow PSTN dial-out (pstnDialOutEnabled).")
        call = await self.services.registry.live_call_for_room(room_id)
        if call is None or call.state is not CallState.CONNECTED:
            raise NoLiveCall(
                f"The bot is not connected to room {room_id}'s call; the backend must connect it first"
                f" (POST /api/rooms/{room_id}/connect) and wait until it is connected."
            )
        now = self.clock()
        dialout = DialOut(
            id=str(uuid.uuid4()),
            room_id=room_id,
            call_connection_id=call.call_connection_id,
            phone_number=request.phone_number,
            caller_id=caller_id,
            ring_timeout_seconds=request.ring_timeout_seconds,
            confirm_with_dtmf=request.confirm_with_dtmf,
            announcement=request.announcement,
            created_at=now,
            updated_at=now,
            repeatability=repeatability_headers(first_sent=now),
            idempotency_key=key,
        )
        await self.store.create(dialout)
        logger.info("dial-out %s: %s into room %s", dialout.id, dialout.phone_number, room_id)
        return dialout

    # Sending the invitation.

    async def send(self, dialout_id: str) -> None:
        """Ask ACS to ring the phone, with the dial-out's own repeatability headers."""
        # Checked and marked under the record's lock, so that a cancel sees either a dial-out
        # that will not be sent or one whose request is on its way.
        async with self.store.lock(dialout_id):
            dialout = await self.store.get(dialout_id)
            if dialout is None or dialout.status is not DialOutStatus.PENDING or dialout.invitation_id:
                return
            if dialout_id in self.sending:
                return
            # A cancelled dial-out is still resent when an earlier attempt may have rung the phone:
            # ACS answers the repeated id with the first result, which names the invitation to cancel.
            wanted = dialout.add_sent or not dialout.cancel_requested
            ready = wanted and not self._expired(dialout)
            if ready:
                self.sending.add(dialout_id)
                if not dialout.add_sent:
                    dialout = dialout.model_copy(update={"add_sent": True})
                    await self.store.put(dialout)
        if not ready:
            self._resends.pop(dialout_id, None)
            if dialout.cancel_requested:
                await self.apply(dialout_id, lambda d: d.cancelled(self.clock()))
            else:
                await self.apply(dialout_id, lambda d: d.failed(GAVE_UP, self.clock()))
            return
        try:
            try:
                invitation = await self.services.acs.participants.add_phone(
                    dialout.call_connection_id,
                    dialout.phone_number,
                    dialout.caller_id,
                    invitation_timeout=dialout.ring_timeout_seconds,
                    operation_context=operation_context(dialout_id),
                    repeatability=dialout.repeatability,
                )
            except AcsUnavailable as exc:
                # ACS may have acted on a request whose answer was lost: resend the same id later.
                logger.warning("dial-out %s: invitation unanswered (%s); resending later", dialout_id, exc)
                self._resend_later(dialout_id)
                return
            except AcsError as exc:
                self._resends.pop(dialout_id, None)
                result = acs_result(exc)
                await self.apply(dialout_id, lambda d: d.add_failed(result, self.clock()))
                return
            change = await self.apply(
                dialout_id,
                lambda d: d.invited(invitation.invitation_id, invitation.participant_raw_id, self.clock()),
            )
        finally:
            self.sending.discard(dialout_id)
        self._resends.pop(dialout_id, None)
        after = change.after if change is not None else None
        if after is not None and after.cancel_requested and after.status is DialOutStatus.RINGING:
            # Cancelled while the invitation was on its way: cancel it now that its id is known.
            self.spawn(self.cancel_invitation(after), name=f"dialout-cancel:{dialout_id}")

    def _expired(self, dialout: DialOut) -> bool:
        first_sent = parsedate_to_datetime(dialout.repeatability[REPEATABILITY_FIRST_SENT])
        return (self.clock() - first_sent).total_seconds() > self._resend_window

    def _resend_later(self, dialout_id: str) -> None:
        attempt = self._resends.get(dialout_id, 0)
        self._resends[dialout_id] = attempt + 1
        delay = min(RESEND_MAX_DELAY_SECONDS, self._resend_delay * 2.0**attempt)

        async def resend() -> None:
            await asyncio.sleep(delay)
            await self.send(dialout_id)

        self.spawn(resend(), name=f"dialout-resend:{dialout_id}")

    async def cancel_invitation(self, dialout: DialOut) -> None:
        if dialout.invitation_id is None:
            return
        await self.services.acs.participants.cancel_add(
            dialout.call_connection_id, dialout.invitation_id, operation_context=operation_context(dialout.id)
        )

    async def cancel(self, dialout_id: str) -> DialOut:
        """Stop a pending or ringing dial-out: at once when nothing was sent, else through ACS."""
        now = self.clock()

        def decide(dialout: DialOut) -> DialOut | None:
            if not dialout.can_cancel:
                raise NotCancellable(
                    f"Dial-out {dialout.id} is {dialout.status}; only a pending or ringing one can be"
                    " cancelled."
                )
            nothing_sent = not dialout.add_sent and dialout.id not in self.sending
            if dialout.status is DialOutStatus.PENDING and dialout.invitation_id is None and nothing_sent:
                return dialout.cancelled(now)
            return dialout.cancelling(now)

        change = await self.apply(dialout_id, decide)
        if change is None:
            raise DialOutNotFound(f"There is no dial-out {dialout_id}.")
        after = change.after
        if after is not None and after.status is DialOutStatus.RINGING:
            try:
                await self.cancel_invitation(after)
            except AcsError:
                await self.apply(dialout_id, lambda d: d.cancel_refused(self.clock()))
                raise
        elif after is not None and after.status is DialOutStatus.PENDING and after.invitation_id is None:
            # Sent, but its answer was lost: resend now (same repeatability id, so no second ring)
            # to learn the invitation id; `send` then cancels it. One on its way does the same.
            self.spawn(self.send(dialout_id), name=f"dialout-send:{dialout_id}")
        return await self.get(dialout_id)

    # Resuming after a restart.

    async def resume(self) -> list[DialOut]:
        """Re-send the invitations left unsent; return every dial-out kept, for the reactions."""
        await self.store.prune(self.clock())
        kept: list[DialOut] = []
        for dialout in await self.store.all():
            if dialout.status is DialOutStatus.PENDING and dialout.invitation_id is None:
                if dialout.idempotency_key is not None:
                    claim = await self.store.claim_of(dialout.idempotency_key)
                    if claim is None or claim.dialout_id != dialout.id:
                        await self.store.delete(dialout)
                        continue
                self.spawn(self.send(dialout.id), name=f"dialout-send:{dialout.id}")
            # Records written before the per-call index existed get their entry now.
            await self.store.index(dialout)
            kept.append(dialout)
        return kept
