"""Running menu sessions: start them, feed them what ACS reports, carry out their effects.

Every transition is stored before its effects run, with the effects still to do; a background
task per transition carries them out one by one and crosses each off in the store. A bot that
stops in the middle continues where the store says: a session waiting for keys simply gets the
next Recognize event (its operation context ``menus:<sessionId>:<try>`` names the session), and
effects not yet crossed off are run on start-up. An effect may so run twice after a crash, never
zero times; a dial-out is keyed by its effect, so it still rings once.

Effect runners never wait inside the call's event pipeline: a prompt's completion arrives
through that same pipeline.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Collection, Coroutine, Mapping
from dataclasses import replace
from typing import Any

from bot.acs.types import AcsError
from bot.calls import listed_by_acs
from bot.media.scheduler import (
    DEFAULT_COMPLETION_TIMEOUT_SECONDS,
    CallEnded,
    MediaJob,
    MediaJobTimedOut,
    MediaJobUnconfirmed,
)
from bot.messages import MenuEnded, MenuRefused
from bot.services import BotServices
from bot.state.base import CallRecord
from bot.stopping import cancel_and_wait
from config.menus.model import MenuSet
from config.prompts import longest_seconds
from handlers.menus import engine
from handlers.menus.actions import ActionRunner, ActionScope
from handlers.menus.sessions import SessionRecord, Sessions

logger = logging.getLogger(f"roombot.{__name__}")


def session_context(session_id: str, attempt: int) -> str:
    """The operation context of a session's try: events carrying it come back to the session."""
    return f"menus:{session_id}:{attempt}"


def parse_session_context(operation_context: str | None) -> tuple[str, int] | None:
    """(session id, try) of a recognize's operation context; None for anything else."""
    parts = (operation_context or "").split(":")
    if len(parts) != 3 or parts[0] != "menus" or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2])


class MenuDriver:
    def __init__(self, menus: MenuSet, services: BotServices) -> None:
        self.menus = menus
        self.services = services
        self.sessions = Sessions(services.store)
        self.actions = ActionRunner(services)
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("menu task %s failed", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    async def begin(
        self, call: CallRecord | None, participant: str, menu: str, context: Mapping[str, Any]
    ) -> SessionRecord:
        """Start ``menu`` for ``participant``; MenuRefused when it cannot start."""
        if menu not in self.menus:
            known = ", ".join(sorted(self.menus.menus)) or "none"
            raise MenuRefused("unknown-menu", f"there is no menu named {menu!r} (menus: {known})")
        if call is None or not call.is_live:
            raise MenuRefused("no-call", "the call is not live")
        async with self.sessions.lock(f"{call.call_connection_id}/{participant}"):
            running = await self.sessions.running_for(call.call_connection_id, participant)
            if running is not None:
                raise MenuRefused(
                    "busy", f"{participant} is already in menu {running.session.menu!r} ({running.id})"
                )
            step = engine.start(self.menus, uuid.uuid4().hex, menu)
            record = SessionRecord(
                session=step.session,
                call_connection_id=call.call_connection_id,
                room_id=call.room_id,
                participant=participant,
                start_menu=menu,
                context=dict(context),
                present=participant in {p.raw_id for p in call.participants},
            )
            self._apply(record, step)
            await self.sessions.put(record)
        logger.info("menu %s started for %s in call %s", menu, participant, call.call_connection_id)
        self.spawn(self._drive(record.id, record.version), f"menus:{record.id}")
        return record

    async def feed(
        self,
        session_id: str,
        attempt: int | None,
        event: engine.Input,
        *,
        in_call: Collection[str] | None = None,
    ) -> None:
        """Hand ``event`` to the session; an event of an earlier try (``attempt``) is ignored.

        ``in_call``, the call's participants when known: a try that was cancelled or refused
        because its participant left is a hang-up, not a reason to ask again."""
        async with self.sessions.lock(session_id):
            record = await self.sessions.get(session_id)
            if record is None or not record.running:
                return
            if attempt is not None and attempt != record.session.attempt:
                logger.info("menu session %s: ignoring %s of try %s", session_id, event, attempt)
                return
            left = in_call is not None and record.participant not in in_call
            if left and isinstance(
                event, engine.Interrupted | engine.PromptFailed | engine.NoInput | engine.ResultLost
            ):
                event = engine.Hangup()
            try:
                step = engine.advance(self.menus, record.session, event)
            except KeyError as exc:
                # The menu file changed under a running session: it cannot go on.
                logger.warning("menu session %s cannot continue: no menu %s", session_id, exc)
                step = _failed(record.session)
            self._apply(record, step)
            await self.sessions.put(record)
        self.spawn(self._drive(record.id, record.version), f"menus:{record.id}")

    def _apply(self, record: SessionRecord, step: engine.Step) -> None:
        record.session = step.session
        record.collecting_since = None
        record.version += 1
        record.pending = [engine.effect_to_json(effect) for effect in step.effects]

    async def resume(self) -> None:
        """On start-up: drop sessions of calls that ended, carry on with unfinished effects."""
        for record in await self.sessions.all():
            call = await self.services.registry.get(record.call_connection_id)
            if call is None or not call.is_live:
                await self.sessions.delete(record.id)
            elif record.pending:
                self.spawn(self._drive(record.id, record.version), f"menus:{record.id}")
            elif record.running and record.collecting_since is not None:
                # Its recognize was asked for before the restart; the result may have come while
                # the bot was down. Wait out the try, then ask again if nothing came.
                due = record.collecting_since + record.collect_bound - time.time()
                attempt = record.session.attempt
                self.spawn(self._overdue(record.id, attempt, max(0.0, due)), f"menus:{record.id}:overdue")

    async def _overdue(self, session_id: str, attempt: int, delay: float) -> None:
        await asyncio.sleep(delay)
        record = await self.sessions.get(session_id)
        if record is None or not record.running or record.session.attempt != attempt:
            return
        logger.warning("menu session %s: the result of try %s never came; asking again", session_id, attempt)
        in_call = await self._participants(record.call_connection_id)
        await self.feed(session_id, attempt, engine.ResultLost(), in_call=in_call)

    async def participants_changed(self, call: CallRecord) -> None:
        """A participant who left ends their session; one who arrived is marked present."""
        present = {participant.raw_id for participant in call.participants}
        for record in await self.sessions.of_call(call.call_connection_id):
            if not record.running:
                continue
            if record.participant not in present:
                if record.present:
                    await self.feed(record.id, None, engine.Hangup())
                continue
            if not record.present:
                async with self.sessions.lock(record.id):
                    fresh = await self.sessions.get(record.id)
                    if fresh is not None and not fresh.present:
                        fresh.present = True
                        await self.sessions.put(fresh)

    async def call_ended(self, call_connection_id: str) -> None:
        """The call is over: every session still going ends with reason ``hangup``."""
        for listed in await self.sessions.of_call(call_connection_id):
            async with self.sessions.lock(listed.id):
                record = await self.sessions.get(listed.id)
                if record is None:
                    continue
                unfinished = record.running or any("end" in effect for effect in record.pending)
                await self.sessions.delete(record.id)
            if unfinished:
                await self._ended(record, record.session.ended or "hangup")

    async def _drive(self, session_id: str, version: int) -> None:
        while True:
            async with self.sessions.lock(session_id):
                record = await self.sessions.get(session_id)
                if record is None or record.version != version or not record.pending:
                    return
                try:
                    effect = engine.effect_from_json(self.menus, record.session, record.pending[0])
                except (KeyError, ValueError, IndexError) as exc:
                    logger.warning("menu session %s cannot continue: %s", session_id, exc)
                    failed = _failed(record.session)
                    record.session = failed.session
                    record.pending = [engine.effect_to_json(effect) for effect in failed.effects]
                    await self.sessions.put(record)
                    continue
            match effect:
                case engine.Collect():
                    job = self._collect(record, effect)
                    if await self._cross_off(session_id, version, collecting=job.expected_seconds):
                        self._watch(session_id, effect.attempt, job)
                    return
                case engine.Act():
                    await self.actions.run(effect.action, self._scope(record, effect))
                case engine.End():
                    await self._ended(record, effect.reason)
            if not await self._cross_off(session_id, version):
                return

    async def _cross_off(self, session_id: str, version: int, *, collecting: float | None = None) -> bool:
        """Done with the first pending effect; ``collecting``: it asked for a recognize that may
        take that long, whose start is kept with the session."""
        async with self.sessions.lock(session_id):
            record = await self.sessions.get(session_id)
            if record is None or record.version != version or not record.pending:
                return False
            record.pending.pop(0)
            if collecting is not None:
                record.collecting_since = time.time()
                record.collect_bound = collecting + DEFAULT_COMPLETION_TIMEOUT_SECONDS
            await self.sessions.put(record)
            return True

    def _collect(self, record: SessionRecord, collect: engine.Collect) -> MediaJob:
        context = session_context(record.id, collect.attempt)
        # A partial rather than a closure: the job keeps it for as long as the menu waits for
        # keys, and a partial is two objects for the garbage collector to walk where a closure
        # over the session is a function, its cells and the session record it holds.
        recognize = functools.partial(
            self.services.acs.media.recognize_dtmf,
            record.call_connection_id,
            record.participant,
            prompt=collect.prompts,
            max_tones=collect.max_digits,
            first_digit_timeout=collect.first_digit_timeout,
            inter_digit_timeout=collect.inter_digit_timeout,
            stop_tones="".join(collect.stop_tones),
            barge_in=collect.barge_in,
            operation_context=context,
        )
        job = MediaJob(
            record.call_connection_id,
            context,
            recognize,
            targets=frozenset({record.participant}),
            # Waiting for the first key, then for each further one, is part of a recognize's time.
            expected_seconds=longest_seconds(collect.prompts)
            + collect.first_digit_timeout
            + collect.inter_digit_timeout * collect.max_digits,
        )
        return self.services.media.submit(job)

    def _watch(self, session_id: str, attempt: int, job: MediaJob) -> None:
        """A recognize ACS refused ends the session; its events otherwise come through on_event.

        A callback on the job rather than a task awaiting it: a menu waiting for keys, for as
        long as the participant takes, keeps no task, coroutines and futures of its own alive
        (at 1,000 menus waiting at once, they were most of what the garbage collector walked)."""
        job.done.add_done_callback(functools.partial(self._settled, session_id, attempt, job))

    def _settled(self, session_id: str, attempt: int, job: MediaJob, done: asyncio.Future[Any]) -> None:
        if done.cancelled():
            return
        exc = done.exception()
        if isinstance(exc, AcsError | MediaJobTimedOut | MediaJobUnconfirmed):
            self.spawn(self._failed_try(session_id, attempt, job, exc), f"menus:{session_id}:failed")
        elif exc is not None and not isinstance(exc, CallEnded):
            logger.error("menu session %s: recognize failed", session_id, exc_info=exc)

    async def _failed_try(self, session_id: str, attempt: int, job: MediaJob, exc: Exception) -> None:
        if isinstance(exc, AcsError):
            logger.warning("menu session %s: recognize refused: %s", session_id, exc)
            event: engine.Input = engine.PromptFailed()
        else:
            # The recognize's completion event was lost, or its request went unanswered and
            # nothing came of it (ACS keeps no repeatability for recognize, so it was not resent
            # at once): ask again without counting a try (the participant may have pressed a
            # key; a lost event costs time, not the outcome), a bounded number of times, or end
            # the session if the participant has left.
            logger.warning("menu session %s: %s", session_id, exc)
            event = engine.ResultLost()
        in_call = await self._participants(job.call_connection_id)
        await self.feed(session_id, attempt, event, in_call=in_call)

    async def _participants(self, call_connection_id: str) -> set[str]:
        """Who is in the call now. ACS is asked: its refusal may come before the bot hears, through
        the call's events, that the participant left."""
        listed = await listed_by_acs(self.services.acs, call_connection_id)
        if listed is not None:
            return set(listed)
        call = await self.services.registry.get(call_connection_id)
        return {p.raw_id for p in call.participants} if call is not None else set()

    def _scope(self, record: SessionRecord, act: engine.Act) -> ActionScope:
        return ActionScope(
            call_connection_id=record.call_connection_id,
            room_id=record.room_id,
            participant=record.participant,
            tag=f"menus:{record.id}:act{record.version}-{act.index}",
            session_id=record.id,
            menu=act.ref.menu,
            keys=record.session.last_entry,
            context=record.context,
        )

    async def _ended(self, record: SessionRecord, reason: str) -> None:
        logger.info("menu session %s for %s ended: %s", record.id, record.participant, reason)
        await self.services.bus.publish(
            MenuEnded(
                call_connection_id=record.call_connection_id,
                participant_raw_id=record.participant,
                session_id=record.id,
                reason=reason,
                context=dict(record.context),
            )
        )


def _failed(session: engine.Session) -> engine.Step:
    """The end of a session that cannot go on (its menu or actions left the menu file)."""
    return engine.Step(replace(session, ended="failed"), (engine.End("failed"),))
