"""`announcements`: play a prompt to everyone in a room's call, or to some of its participants only.

Every announcement is one play (ACS ``playTo`` = exactly its addressees, or play-to-all) run as a
`MediaJob` through the per-call media scheduler, so back-to-back announcements queue instead of
colliding into ACS's 400/8500 "another media operation is active". Its status lives in the state
store (namespace ``announcements``) and moves forward only: queued → playing → completed, failed
or cancelled, driven by the Play* events tagged ``announcements:<id>``. A restarted bot answers
for announcements made before, and plays those still queued.

Other handlers announce through the bus command `Announce` (the menus' ``announce`` action, the
end-of-session warning of ``end_call``): the same path, the same status resource.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Coroutine, Iterable, Mapping
from datetime import timedelta
from typing import Any, ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.acs import AcsError, AcsUnavailable
from bot.calls import listed_by_acs
from bot.events import CallDisconnected, CallEvent, PlayCanceled, PlayCompleted, PlayFailed, PlayStarted
from bot.handlers import OPERATION_CONTEXT_SEPARATOR, BaseHandler, CallContext
from bot.media.scheduler import (
    DEFAULT_COMPLETION_TIMEOUT_SECONDS,
    CallEnded,
    MediaJob,
    MediaJobTimedOut,
    MediaJobUnconfirmed,
)
from bot.messages import Announce
from bot.services import BotServices
from bot.state.base import CallRecord, CallState, StateStoreError
from bot.stopping import cancel_and_wait
from bot.timeline import History, TimelineItem
from config.prompts import Prompt
from handlers.announcements import timeline
from handlers.announcements.audience import RosterCache, resolve_in_call
from handlers.announcements.model import (
    EVERYONE,
    AlreadyFinished,
    Announcement,
    AnnouncementRequest,
    Audience,
    NoLiveCall,
    Outcome,
    Status,
)
from handlers.announcements.routes import OPENAPI_PATHS, announcement_routes
from handlers.announcements.store import AnnouncementStore, utc_now

logger = logging.getLogger(f"roombot.{__name__}")

# Finished announcements are pruned at most this often, on the way of a new one.
PRUNE_EVERY_SECONDS = 600.0
CALL_ENDED = "the call ended before the announcement finished"
# ACS documents no delivery guarantee: a play it accepted, given time enough to end, was played.
UNSEEN_END = "ACS accepted the play; its end event never came, so it is taken as played"


class AnnouncementsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roster_ttl_seconds: float = Field(
        default=60.0, gt=0, description="How long a room's roster (who has which role) is reused."
    )
    keep_finished_hours: float = Field(
        default=24.0, gt=0, description="How long a finished announcement stays readable."
    )


class AnnouncementsHandler(BaseHandler):
    name: ClassVar[str] = "announcements"
    events: ClassVar[tuple[type[CallEvent], ...]] = (
        PlayStarted,
        PlayCompleted,
        PlayFailed,
        PlayCanceled,
        CallDisconnected,
    )
    Config: ClassVar[type[BaseModel]] = AnnouncementsConfig

    def __init__(self, config: AnnouncementsConfig) -> None:
        self.config = config
        self._roster: RosterCache | None = None
        self._announcements: AnnouncementStore | None = None
        self._jobs: dict[str, MediaJob] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pruned_at = float("-inf")
        self._stopped = False
        self._routes = announcement_routes(self)

    # Life cycle.

    async def start(self, services: BotServices) -> None:
        await super().start(services)
        self._roster = RosterCache(services.acs.list_room_participants, self.config.roster_ttl_seconds)
        self._announcements = AnnouncementStore(
            services.store, keep_finished=timedelta(hours=self.config.keep_finished_hours)
        )
        services.bus.handle(Announce, self._on_announce)
        await self._resume()

    async def stop(self) -> None:
        self._stopped = True
        await cancel_and_wait(self._tasks)

    def routes(self) -> Iterable[web.RouteDef]:
        return self._routes

    def openapi_paths(self) -> Mapping[str, Any]:
        return OPENAPI_PATHS

    @property
    def roster(self) -> RosterCache:
        if self._roster is None:
            raise RuntimeError("the announcements handler has not started")
        return self._roster

    @property
    def announcements(self) -> AnnouncementStore:
        if self._announcements is None:
            raise RuntimeError("the announcements handler has not started")
        return self._announcements

    # What the routes and the bus ask for.

    async def create(self, room_id: str, request: AnnouncementRequest) -> Announcement:
        """Resolve the audience in the room's live call and queue the play.

        Raises NoLiveCall, AudienceError, or AcsError (fetching the roster)."""
        call = await self.services.registry.live_call_for_room(room_id)
        if call is None:
            raise NoLiveCall(f"the bot is in no call of room {room_id}; connect it first")
        if call.state is not CallState.CONNECTED:
            raise NoLiveCall(f"the bot is still joining the call of room {room_id}; try again shortly")
        in_call = [participant.raw_id for participant in call.participants]
        asked = functools.partial(listed_by_acs, self.services.acs, call.call_connection_id)
        targets = await resolve_in_call(request.to, room_id, in_call, self.roster, asked)
        announcement, _ = await self._announce(
            call, request.prompt(), request.to, targets, loop=request.loop, interrupt=request.interrupt
        )
        return announcement

    async def get(self, announcement_id: str) -> Announcement | None:
        return await self.announcements.get(announcement_id)

    async def timeline(self, call: CallRecord, history: History) -> list[TimelineItem]:
        """The call's announcements on the console's timeline (`bot.timeline.TimelineSource`)."""
        return timeline.items(await self.announcements.of_call(call.call_connection_id))

    async def cancel(self, announcement: Announcement) -> tuple[Announcement, bool]:
        """Drop a queued announcement (True: cancelled now) or stop one playing (False: its
        PlayCanceled settles it). Stopping cancels *every* media operation of the call: ACS's
        ``cancelAllMediaOperations`` is the only cancel it has. Raises AlreadyFinished, AcsError."""
        if announcement.status.is_final:
            raise AlreadyFinished(announcement)
        job = self._jobs.get(announcement.id)
        if announcement.status is Status.QUEUED and (job is None or self.services.media.withdraw(job)):
            cancelled = await self.announcements.settle(
                announcement.id, Status.CANCELLED, Outcome(message="cancelled before it played")
            )
            return cancelled or announcement, True
        await self.services.acs.media.cancel_all(announcement.call_connection_id)
        return announcement, False

    async def _on_announce(self, command: Announce) -> str:
        if command.to is not None and not command.to:
            raise ValueError("Announce.to is empty; give None to announce to everyone")
        if command.interrupt and command.to is not None:
            raise ValueError("interrupt applies to announcements to everyone only")
        call = await self.services.registry.get(command.call_connection_id)
        if call is None or not call.is_live:
            raise LookupError(f"call {command.call_connection_id} is not live")
        targets = tuple(dict.fromkeys(command.to)) if command.to is not None else None
        audience = EVERYONE if targets is None else Audience(kind="participants", participants=targets)
        announcement, job = await self._announce(
            call, command.prompt, audience, targets, loop=command.loop, interrupt=command.interrupt
        )
        if command.wait:
            await _settled(job.done)
        return announcement.id

    # Events.

    async def on_event(self, event: CallEvent, ctx: CallContext) -> None:
        if isinstance(event, CallDisconnected):
            self.roster.forget(ctx.room_id)
            await self._cancel_unfinished(ctx.call_connection_id)
            return
        announcement_id = self._own_id(event.operation_context)
        if announcement_id is None:
            return
        at = event.time or utc_now()
        result = event.result
        outcome = Outcome(result.code, result.sub_code, result.message) if result is not None else None
        if isinstance(event, PlayStarted):
            await self.announcements.settle(announcement_id, Status.PLAYING, at=at)
        elif isinstance(event, PlayCompleted):
            await self.announcements.settle(announcement_id, Status.COMPLETED, outcome, at=at)
        elif isinstance(event, PlayFailed):
            await self.announcements.settle(announcement_id, Status.FAILED, outcome, at=at)
        elif isinstance(event, PlayCanceled):
            await self.announcements.settle(announcement_id, Status.CANCELLED, outcome, at=at)

    def _operation_context(self, announcement_id: str) -> str:
        return f"{self.name}{OPERATION_CONTEXT_SEPARATOR}{announcement_id}"

    def _own_id(self, operation_context: str | None) -> str | None:
        prefix = self._operation_context("")
        if operation_context is None or not operation_context.startswith(prefix):
            return None
        return operation_context.removeprefix(prefix) or None

    # Playing.

    async def _announce(
        self,
        call: CallRecord,
        prompt: Prompt,
        audience: Audience,
        targets: tuple[str, ...] | None,
        *,
        loop: bool,
        interrupt: bool,
    ) -> tuple[Announcement, MediaJob]:
        announcement = Announcement(
            id=uuid.uuid4().hex,
            room_id=call.room_id,
            call_connection_id=call.call_connection_id,
            prompt=prompt,
            audience=audience,
            targets=targets,
            loop=loop,
            interrupt=interrupt,
            status=Status.QUEUED,
            created_at=utc_now(),
        )
        await self.announcements.add(announcement)
        job = self._submit(announcement)
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = time.monotonic()
            await self.announcements.prune()
        return announcement, job

    def _submit(self, announcement: Announcement) -> MediaJob:
        async def play() -> None:
            await self.announcements.mark_sent(announcement.id)
            await self.services.acs.media.play(
                announcement.call_connection_id,
                [announcement.prompt],
                to=list(announcement.targets) if announcement.targets is not None else None,
                loop=announcement.loop,
                interrupt=announcement.interrupt,
                operation_context=self._operation_context(announcement.id),
            )
            try:
                await self.announcements.settle(announcement.id, Status.PLAYING)
            except StateStoreError:
                # ACS plays it anyway; the Play* events will record the outcome.
                logger.exception("could not record announcement %s as playing", announcement.id)

        job = MediaJob(
            call_connection_id=announcement.call_connection_id,
            operation_context=self._operation_context(announcement.id),
            start=play,
            targets=frozenset(announcement.targets) if announcement.targets is not None else None,
            interrupt=announcement.interrupt,
            loop=announcement.loop,
            expected_seconds=announcement.prompt.longest_seconds,
        )
        self._jobs[announcement.id] = job
        job.done.add_done_callback(lambda done: self._job_done(announcement.id, job))
        self.services.media.submit(job)
        return job

    def _job_done(self, announcement_id: str, job: MediaJob) -> None:
        if self._jobs.get(announcement_id) is job:
            del self._jobs[announcement_id]
        # A completion event reaches `on_event` too; a withdrawn job was settled by `cancel`.
        if self._stopped or job.done.cancelled() or job.done.exception() is None:
            return
        error = job.done.exception()
        if isinstance(error, CallEnded):
            settle = self.announcements.settle(announcement_id, Status.CANCELLED, Outcome(message=CALL_ENDED))
        elif isinstance(error, AcsUnavailable):
            # No answer: ACS may be playing it. Resent only once its time is up with no sign of it.
            self._spawn(
                self._confirm_or_resend(announcement_id), f"announcements:unconfirmed:{announcement_id}"
            )
            return
        elif isinstance(error, AcsError):
            sub_code = int(error.code) if error.code and error.code.isdigit() else None
            outcome = Outcome(error.status, sub_code, error.message)
            settle = self.announcements.settle(announcement_id, Status.FAILED, outcome)
        elif isinstance(error, MediaJobUnconfirmed):
            # Unanswered, and nothing came of it in its time: unless a PlayStarted said it runs,
            # it did not start, and is sent again.
            self._spawn(
                self._resend_unless_started(announcement_id), f"announcements:resend:{announcement_id}"
            )
            return
        elif isinstance(error, MediaJobTimedOut):
            # ACS accepted the play and had it long enough to finish; only its events were lost.
            settle = self.announcements.settle(announcement_id, Status.COMPLETED, Outcome(message=UNSEEN_END))
        else:
            logger.error("announcement %s failed: %r", announcement_id, error)
            settle = self.announcements.settle(announcement_id, Status.FAILED, Outcome(message=str(error)))
        self._spawn(settle, f"announcements:settle:{announcement_id}")

    # After a restart, and at the end of a call.

    async def _resume(self) -> None:
        """Queued announcements of live calls play; those of ended calls are cancelled."""
        self._pruned_at = time.monotonic()
        await self.announcements.prune()
        for announcement in await self.announcements.unfinished():
            call = await self.services.registry.get(announcement.call_connection_id)
            if call is None or not call.is_live:
                await self.announcements.settle(
                    announcement.id, Status.CANCELLED, Outcome(message=CALL_ENDED)
                )
            elif announcement.status is Status.QUEUED and announcement.sent_at is not None:
                # Sent before the restart, with no word since: wait for its events before resending.
                overdue = self._confirm_or_resend(announcement.id)
                self._spawn(overdue, f"announcements:unconfirmed:{announcement.id}")
            elif announcement.status is Status.QUEUED:
                self._submit(announcement)
            elif announcement.status is Status.PLAYING and not announcement.loop:
                # It was playing when the bot stopped: its end may have come meanwhile, unseen.
                started = (announcement.started_at or announcement.created_at).timestamp()
                due = started + announcement.prompt.longest_seconds + DEFAULT_COMPLETION_TIMEOUT_SECONDS
                self._spawn(
                    self._overdue(announcement.id, due - time.time()), f"announcements:{announcement.id}"
                )

    async def _resend_unless_started(self, announcement_id: str) -> None:
        """Once a play left unanswered had its time: played if it started (its end event was
        lost), sent again if nothing came of it."""
        current = await self.announcements.get(announcement_id)
        if current is None or current.status is not Status.QUEUED:
            if current is not None and current.status is Status.PLAYING and not current.loop:
                await self.announcements.settle(
                    announcement_id, Status.COMPLETED, Outcome(message=UNSEEN_END)
                )
            return
        logger.warning("announcement %s: no sign that its play started; sending it again", announcement_id)
        self._submit(current)

    async def _confirm_or_resend(self, announcement_id: str) -> None:
        """A play that was sent with no answer: wait as long as it could take; if nothing came of
        it meanwhile (no PlayStarted, no end), it did not start, and is sent again."""
        current = await self.announcements.get(announcement_id)
        if current is None or current.sent_at is None:
            return
        due = (
            current.sent_at.timestamp() + current.prompt.longest_seconds + DEFAULT_COMPLETION_TIMEOUT_SECONDS
        )
        await asyncio.sleep(max(0.0, due - time.time()))
        await self._resend_unless_started(announcement_id)

    async def _overdue(self, announcement_id: str, delay: float) -> None:
        await asyncio.sleep(max(0.0, delay))
        current = await self.announcements.get(announcement_id)
        if current is not None and current.status is Status.PLAYING:
            logger.warning(
                "announcement %s: no end event came after the restart; taken as played", announcement_id
            )
            await self.announcements.settle(announcement_id, Status.COMPLETED, Outcome(message=UNSEEN_END))

    def _spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cancel_unfinished(self, call_connection_id: str) -> None:
        for announcement in await self.announcements.unfinished(call_connection_id):
            await self.announcements.settle(announcement.id, Status.CANCELLED, Outcome(message=CALL_ENDED))


async def _settled(done: asyncio.Future[Any]) -> None:
    """Until ``done`` settles, however it does (a result, an error, a cancellation), without taking
    its result. Cancelling the caller cancels only its own wait, never ``done``. (As `asyncio.wait`
    would, for one future and two coroutines less per waiting call: a menu's "say" waits here.)"""
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(_: asyncio.Future[Any]) -> None:
        if not waiter.done():
            waiter.set_result(None)

    done.add_done_callback(wake)
    await waiter
