"""`menus`: declarative DTMF menus for call participants, and hotkeys that work at any time.

The packaged menus (``config/menus/default_menus.yaml``), with those of ``ROOMBOT_MENUS_FILE`` added
(a same-named menu replaces the packaged one), are read and checked when the handler is built: a
bad file stops the bot with one line naming the file, the menu, the key and the problem. A menu
runs for one participant at a time, started by the backend (``POST /api/rooms/{roomId}/menus``)
or by another plugin (bus command `RunMenu`, e.g. a dial-out asking an interpreter to press 1).
Each try is one ACS recognize addressed to that participant alone; the engine
(`handlers.menus.engine`) decides what follows, and the session's position is kept in the state
store so that a restarted bot continues it.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.events import (
    CallDisconnected,
    CallEvent,
    ContinuousDtmfRecognitionToneReceived,
    ParticipantsUpdated,
    RecognizeCanceled,
    RecognizeCompleted,
    RecognizeFailed,
)
from bot.handlers import BaseHandler, CallContext
from bot.media.dtmf import to_keys
from bot.messages import MenuRefused, RunMenu
from bot.plugins import PluginError
from bot.services import BotServices
from bot.state.base import CallRecord
from bot.timeline import History, TimelineItem
from config.menus.load import load_menus_over
from config.menus.model import DEFAULT_MENUS_FILE, Action, Goto, MenuFileError, MenuSet
from config.prompts import Prompt
from config.settings import Settings
from handlers.menus import engine, timeline
from handlers.menus.actions import ActionScope
from handlers.menus.driver import MenuDriver, parse_session_context
from handlers.menus.hotkeys import HOTKEY_CONTEXT, HotkeyListener
from handlers.menus.routes import menu_routes, openapi_paths

# RecognizeFailed subcodes (ACS docs, "Troubleshooting Call Automation: result codes"): no key at
# all (initial silence timeout), and a pause mid-entry (inter-tone timeout).
INITIAL_SILENCE_TIMEOUT = 8510
INTER_TONE_TIMEOUT = 8532


class MenusConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    menus_file: Path | None = Field(
        default=None,
        description="YAML menu file; default ROOMBOT_MENUS_FILE, else the packaged default menus.",
    )
    hotkey_participants: Literal["pstn", "all"] = Field(
        default="pstn",
        description="Whose keys hotkeys listen to: phone participants only, or every participant.",
    )
    hotkey_gap_seconds: float = Field(
        default=3.0, gt=0, le=60, description="A pause this long between two keys starts a new hotkey."
    )


def recognize_input(event: CallEvent) -> engine.Input:
    """What a Recognize* event means to a menu session."""
    if isinstance(event, RecognizeCompleted):
        return engine.Keys(_keys(event.tones))
    if isinstance(event, RecognizeCanceled):
        return engine.Interrupted()
    sub_code = event.result.sub_code if event.result is not None else None
    if sub_code == INITIAL_SILENCE_TIMEOUT:
        return engine.NoInput()
    if sub_code == INTER_TONE_TIMEOUT:
        # ACS reports the keys pressed before the pause when it has any.
        dtmf = event.data.get("dtmfResult")
        tones = dtmf.get("tones") if isinstance(dtmf, Mapping) else None
        return engine.InterDigitTimeout(_keys(tones if isinstance(tones, list) else []))
    return engine.PromptFailed()


def _keys(tones: Iterable[Any]) -> str:
    try:
        return to_keys(str(tone) for tone in tones)
    except ValueError:
        # A tone the bot does not know can match no option: an invalid entry, not a crash.
        return "?"


class MenusHandler(BaseHandler):
    name: ClassVar[str] = "menus"
    events: ClassVar[tuple[type[CallEvent], ...]] = (
        RecognizeCompleted,
        RecognizeFailed,
        RecognizeCanceled,
        ContinuousDtmfRecognitionToneReceived,
        ParticipantsUpdated,
        CallDisconnected,
    )
    Config: ClassVar[type[BaseModel]] = MenusConfig

    @classmethod
    def settings_defaults(cls, settings: Settings) -> dict[str, Any]:
        return {"menus_file": settings.menus_file} if settings.menus_file is not None else {}

    def __init__(self, config: MenusConfig) -> None:
        self.config = config
        try:
            # A custom file adds to the packaged menus (a dial-out's confirmation needs one).
            self.menus: MenuSet = load_menus_over(DEFAULT_MENUS_FILE, config.menus_file)
        except MenuFileError as exc:
            raise PluginError(str(exc)) from None
        self.hotkeys = HotkeyListener(
            tuple(self.menus.hotkeys), config.hotkey_participants, config.hotkey_gap_seconds
        )
        self._driver: MenuDriver | None = None

    def provides(self) -> Mapping[str, Collection[str]]:
        return {"menu": frozenset(self.menus.menus)}

    def prompts(self) -> Iterator[tuple[str, Prompt]]:
        for where, prompt in self.menus.prompts():
            yield f"{self.menus.source}: {where}", prompt

    @property
    def driver(self) -> MenuDriver:
        if self._driver is None:
            raise RuntimeError("the menus handler is used before the bot started")
        return self._driver

    async def start(self, services: BotServices) -> None:
        await super().start(services)
        self._driver = MenuDriver(self.menus, services)
        services.bus.handle(RunMenu, self.run_menu)
        await self._driver.resume()

    async def stop(self) -> None:
        if self._driver is not None:
            await self._driver.stop()

    async def run_menu(self, command: RunMenu) -> str:
        """Bus command: start a menu for a participant; the session id. Raises MenuRefused."""
        call = await self.services.registry.get(command.call_connection_id)
        record = await self.driver.begin(call, command.participant_raw_id, command.menu, command.context)
        return record.id

    async def on_event(self, event: CallEvent, ctx: CallContext) -> None:
        match event:
            case RecognizeCompleted() | RecognizeFailed() | RecognizeCanceled():
                tagged = parse_session_context(event.operation_context)
                if tagged is not None:
                    in_call = {participant.raw_id for participant in ctx.call.participants}
                    await self.driver.feed(tagged[0], tagged[1], recognize_input(event), in_call=in_call)
            case ContinuousDtmfRecognitionToneReceived():
                await self._tone(event, ctx)
            case ParticipantsUpdated():
                await self.driver.participants_changed(ctx.call)
                if self.hotkeys.enabled:
                    present = [participant.raw_id for participant in ctx.call.participants]
                    self.driver.spawn(
                        self.hotkeys.participants_changed(self.services, ctx.call_connection_id, present),
                        f"menus:hotkeys:{ctx.call_connection_id}",
                    )
            case CallDisconnected():
                await self.driver.call_ended(ctx.call_connection_id)
                await self.hotkeys.forget(self.services, ctx.call_connection_id)

    async def _tone(self, event: ContinuousDtmfRecognitionToneReceived, ctx: CallContext) -> None:
        prefix = f"{self.name}:{HOTKEY_CONTEXT}:"
        context = event.operation_context or ""
        if not context.startswith(prefix) or not event.tone:
            return
        participant = context.removeprefix(prefix)
        hotkey = self.hotkeys.tone(ctx.call_connection_id, participant, _keys([event.tone]), time.monotonic())
        if hotkey is None:
            return
        ctx.log.info("hotkey %s pressed by %s", hotkey, participant)
        actions = self.menus.hotkeys[hotkey]
        scope = ActionScope(
            call_connection_id=ctx.call_connection_id,
            room_id=ctx.room_id,
            participant=participant,
            tag=f"menus:hotkey-{event.id}",
            keys=hotkey,
        )
        self.driver.spawn(self._run_hotkey(actions, scope, ctx), f"menus:hotkey:{event.id}")

    async def _run_hotkey(self, actions: tuple[Action, ...], scope: ActionScope, ctx: CallContext) -> None:
        for index, action in enumerate(actions):
            if isinstance(action, Goto):
                # Looked up again: the actions before the goto may have taken a while.
                call = await self.services.registry.get(ctx.call_connection_id)
                try:
                    await self.driver.begin(call, scope.participant, action.menu, {"hotkey": scope.keys})
                except MenuRefused as exc:
                    ctx.log.info("hotkey %s: menu %s not started: %s", scope.keys, action.menu, exc)
                continue
            await self.driver.actions.run(action, replace(scope, tag=f"{scope.tag}-{index}"))

    async def timeline(self, call: CallRecord, history: History) -> list[TimelineItem]:
        """The call's menu sessions on the console's timeline (`bot.timeline.TimelineSource`)."""
        records = await self.driver.sessions.of_call(call.call_connection_id)
        return timeline.items(records, history, call.ended_at)

    def routes(self) -> Iterable[web.RouteDef]:
        return menu_routes(lambda: self.driver)

    def openapi_paths(self) -> Mapping[str, Any]:
        return openapi_paths(self.menus.menus)
