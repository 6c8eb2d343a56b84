"""Per-call media scheduling: play and recognize requests queue or interrupt deliberately
instead of colliding.

ACS refuses a media operation whose audience overlaps one still running (400/8500). The
scheduler keeps, per call, the operations running and those waiting: an operation starts when
its targets overlap no running operation and no earlier waiting one (so two announcements to the
same person keep their order, while an announcement to someone else does not wait behind a menu).
"Everyone" overlaps everything. An ``interrupt`` operation starts at once: ACS cancels what is
playing and the scheduler frees those slots when their Canceled events arrive.

A job is finished by its completion event (Play/Recognize Completed, Failed or Canceled with the
job's operationContext), which the event pipeline hands to :meth:`MediaScheduler.observe`. ACS does
not guarantee delivery, so a watchdog releases a started job whose completion has not come within
its own ``expected_seconds`` (what it plays, from `config.prompts.longest_seconds`, plus a
recognize's timeouts) and ``completion_timeout`` seconds of slack: its ``done`` fails with
:class:`MediaJobTimedOut` and the jobs behind it go on. A looping play never completes by itself
and is exempt. A job whose request went unanswered (5xx or no answer after every retry) may be
running all the same, so it keeps its audience the same way; its ``done`` then fails with
:class:`MediaJobUnconfirmed` if no completion came.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.acs.types import AcsError, AcsRejected, AcsUnavailable
from bot.events import (
    CallDisconnected,
    CallEvent,
    PlayCanceled,
    PlayCompleted,
    PlayFailed,
    RecognizeCanceled,
    RecognizeCompleted,
    RecognizeFailed,
)
from bot.logs import log_context
from bot.stopping import cancel_and_wait

logger = logging.getLogger(f"roombot.{__name__}")

COMPLETIONS = (
    PlayCompleted,
    PlayFailed,
    PlayCanceled,
    RecognizeCompleted,
    RecognizeFailed,
    RecognizeCanceled,
)
MEDIA_BUSY_CODE = "8500"


def _retrieve(done: asyncio.Future[CallEvent]) -> None:
    """Marks a job's failure as retrieved (one function for every job, not a lambda each)."""
    if not done.cancelled():
        done.exception()


def _new_future() -> asyncio.Future[CallEvent]:
    return asyncio.get_running_loop().create_future()


class CallEnded(Exception):
    """The call ended before the media job could finish."""


class MediaJobTimedOut(Exception):
    """No completion event came for a started job: it was lost, or ACS never sent it."""

    def __init__(self, operation_context: str, seconds: float) -> None:
        super().__init__(f"no completion event for media job {operation_context} within {seconds:g} s")
        self.operation_context = operation_context
        self.seconds = seconds


class MediaJobUnconfirmed(Exception):
    """ACS left the job's request unanswered (5xx, a reset, a timeout) and no completion came
    within the job's bound: as far as the bot can tell it did not start. Its submitter decides
    whether to send it again (a PlayStarted it saw says otherwise)."""

    def __init__(self, operation_context: str, seconds: float) -> None:
        super().__init__(f"media job {operation_context}: unanswered, and no sign of it within {seconds:g} s")
        self.operation_context = operation_context
        self.seconds = seconds


@dataclass(eq=False)
class MediaJob:
    """One play or recognize. ``targets`` None means everyone in the call."""

    call_connection_id: str
    operation_context: str
    start: Callable[[], Awaitable[None]]
    targets: frozenset[str] | None = None
    interrupt: bool = False
    done: asyncio.Future[CallEvent] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    busy_retries: int = 0
    # A looping play ends only when cancelled: the watchdog leaves it alone.
    loop: bool = False
    # How long the operation may legitimately take: its prompts, and a recognize's timeouts.
    expected_seconds: float = 0.0
    # Its request went unanswered: ACS may be performing it, or may never have had it.
    unconfirmed: bool = False

    def __post_init__(self) -> None:
        # Submitters that fire and forget must not leave "exception never retrieved" noise.
        self.done.add_done_callback(_retrieve)

    def overlaps(self, other: MediaJob) -> bool:
        if self.targets is None or other.targets is None:
            return True
        return not self.targets.isdisjoint(other.targets)


@dataclass
class _CallMedia:
    running: list[MediaJob] = field(default_factory=list)
    waiting: list[MediaJob] = field(default_factory=list)


# Beyond what a job expects to take: for the request to reach ACS, its events to come back, and a
# loaded machine. A lost completion holds the audience this much longer than the play itself.
DEFAULT_COMPLETION_TIMEOUT_SECONDS = 15.0


class MediaScheduler:
    def __init__(
        self,
        *,
        busy_retry_delay: float = 0.5,
        max_busy_retries: int = 20,
        completion_timeout: float = DEFAULT_COMPLETION_TIMEOUT_SECONDS,
    ) -> None:
        if completion_timeout <= 0:
            raise ValueError("completion_timeout must be positive")
        self._calls: dict[str, _CallMedia] = {}
        self._busy_retry_delay = busy_retry_delay
        self._max_busy_retries = max_busy_retries
        self._completion_timeout = completion_timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self._watchdogs: dict[MediaJob, asyncio.TimerHandle] = {}

    def submit(self, job: MediaJob) -> MediaJob:
        """Queue ``job``; await ``job.done`` for its completion event."""
        media = self._calls.setdefault(job.call_connection_id, _CallMedia())
        if job.interrupt:
            media.running.append(job)
            self._launch(job)
        else:
            media.waiting.append(job)
            self._pump(job.call_connection_id)
        return job

    def withdraw(self, job: MediaJob) -> bool:
        """Drop a job still waiting (its ``done`` is cancelled); False once it has started."""
        media = self._calls.get(job.call_connection_id)
        if media is None or job not in media.waiting:
            return False
        media.waiting.remove(job)
        job.done.cancel()
        self._pump(job.call_connection_id)
        return True

    def pending(self, call_connection_id: str) -> int:
        media = self._calls.get(call_connection_id)
        return len(media.running) + len(media.waiting) if media else 0

    async def observe(self, event: CallEvent) -> None:
        """Release the job an event completes; fail every job of a call that disconnected."""
        if isinstance(event, CallDisconnected):
            self._end_call(event.call_connection_id)
            return
        if not isinstance(event, COMPLETIONS):
            return
        media = self._calls.get(event.call_connection_id)
        if media is None:
            return
        for job in media.running:
            if job.operation_context == event.operation_context:
                media.running.remove(job)
                self._disarm(job)
                if not job.done.done():
                    job.done.set_result(event)
                self._pump(event.call_connection_id)
                return

    def _pump(self, call_connection_id: str) -> None:
        media = self._calls.get(call_connection_id)
        if media is None:
            return
        blocked: list[MediaJob] = []
        for job in list(media.waiting):
            if any(job.overlaps(other) for other in (*media.running, *blocked)):
                blocked.append(job)
                continue
            media.waiting.remove(job)
            media.running.append(job)
            self._launch(job)
        if not media.running and not media.waiting:
            del self._calls[call_connection_id]

    def _launch(self, job: MediaJob) -> None:
        task = asyncio.create_task(self._start(job), name=f"media:{job.operation_context}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, job: MediaJob) -> None:
        # Started from wherever a job was submitted (a route, a timer): its lines name its call.
        with log_context(call_connection_id=job.call_connection_id):
            await self._attempt(job)

    async def _attempt(self, job: MediaJob) -> None:
        try:
            await job.start()
        except AcsRejected as exc:
            if exc.code == MEDIA_BUSY_CODE and job.busy_retries < self._max_busy_retries:
                # Someone else's media operation (another app, or one started before a restart)
                # holds the audience: try again shortly rather than failing the request.
                job.busy_retries += 1
                await asyncio.sleep(self._busy_retry_delay)
                await self._attempt(job)
                return
            self._fail(job, exc)
        except AcsUnavailable as exc:
            if job.loop:
                self._fail(job, exc)
                return
            # ACS keeps no repeatability for play and recognize: a request whose answer was lost
            # may be playing now, and sending it again could play it twice. It keeps its audience
            # until its completion event comes, or its bound passes with no sign of it.
            logger.warning(
                "media job %s: unanswered (%s); waiting for its events", job.operation_context, exc
            )
            job.unconfirmed = True
            self._arm(job)
        except AcsError as exc:
            self._fail(job, exc)
        else:
            self._arm(job)

    def _arm(self, job: MediaJob) -> None:
        """Start the watchdog of a job ACS accepted, unless its completion is already in."""
        media = self._calls.get(job.call_connection_id)
        if job.loop or media is None or job not in media.running:
            return
        bound = self._completion_timeout + job.expected_seconds
        self._watchdogs[job] = asyncio.get_running_loop().call_later(bound, self._expire, job, bound)

    def _disarm(self, job: MediaJob) -> None:
        watchdog = self._watchdogs.pop(job, None)
        if watchdog is not None:
            watchdog.cancel()

    def _expire(self, job: MediaJob, bound: float) -> None:
        self._watchdogs.pop(job, None)
        if job.unconfirmed:
            logger.warning("media job %s: no sign of it within %g s", job.operation_context, bound)
            self._release(job, MediaJobUnconfirmed(job.operation_context, bound))
            return
        logger.warning(
            "media job %s in call %s: no completion event within %g s; releasing its audience",
            job.operation_context,
            job.call_connection_id,
            bound,
        )
        self._release(job, MediaJobTimedOut(job.operation_context, bound))

    def _fail(self, job: MediaJob, exc: Exception) -> None:
        logger.warning("media job %s failed to start: %s", job.operation_context, exc)
        self._release(job, exc)

    def _release(self, job: MediaJob, exc: Exception) -> None:
        media = self._calls.get(job.call_connection_id)
        if media is not None and job in media.running:
            media.running.remove(job)
        if not job.done.done():
            job.done.set_exception(exc)
        self._pump(job.call_connection_id)

    def _end_call(self, call_connection_id: str) -> None:
        media = self._calls.pop(call_connection_id, None)
        if media is None:
            return
        for job in (*media.running, *media.waiting):
            self._disarm(job)
            if not job.done.done():
                job.done.set_exception(CallEnded(call_connection_id))

    async def close(self) -> None:
        await cancel_and_wait(self._tasks)
        for call_connection_id in list(self._calls):
            self._end_call(call_connection_id)
