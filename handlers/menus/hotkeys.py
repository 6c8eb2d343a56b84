"""Hotkeys: key sequences such as ``*0`` that work at any time, through continuous DTMF.

When the menu file defines hotkeys, continuous DTMF recognition is started for each participant
who joins: phone (PSTN) participants by default, every participant with
``hotkey_participants: all`` (ACS relays DTMF from phones; VoIP clients send it only where the
calling SDK supports it). ACS then reports each key as a ContinuousDtmfRecognitionToneReceived
event; the event names no participant, so each start is tagged ``menus:hotkeys:<rawId>`` and the
tone events carry that operation context back.

Keys are buffered per participant and matched against the hotkeys: the buffer keeps only a tail
that can still become a hotkey, and forgets keys after a pause of ``gap`` seconds, so a stray
key or a menu answer does not block the next ``*0``. Keys pressed in a menu reach both the menu
and the hotkeys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from bot.acs.types import AcsError
from bot.services import BotServices

logger = logging.getLogger(f"roombot.{__name__}")

HOTKEY_CONTEXT = "hotkeys"
NAMESPACE = "menus-hotkeys"
Audience = Literal["pstn", "all"]


@dataclass(frozen=True)
class HotkeyBuffer:
    keys: str = ""
    # When the last key came (seconds on any monotonic clock); None before the first.
    last: float | None = None


def press(
    hotkeys: Collection[str], buffer: HotkeyBuffer, key: str, now: float, gap: float
) -> tuple[HotkeyBuffer, str | None]:
    """Add ``key`` to ``buffer``; the new buffer and the hotkey it completes, if any."""
    keys = buffer.keys if buffer.last is not None and now - buffer.last <= gap else ""
    keys += key.upper()
    # Keep the longest tail that is still the start of some hotkey ("1*" -> "*").
    while keys and not any(hotkey.startswith(keys) for hotkey in hotkeys):
        keys = keys[1:]
    if keys in hotkeys:
        return HotkeyBuffer("", now), keys
    return HotkeyBuffer(keys, now), None


def listens_to(raw_id: str, audience: Audience) -> bool:
    return audience == "all" or raw_id.startswith("4:")


class HotkeyListener:
    """Starts continuous DTMF for the participants of each call and matches their keys."""

    def __init__(self, hotkeys: Collection[str], audience: Audience, gap: float) -> None:
        self._hotkeys = hotkeys
        self._audience = audience
        self._gap = gap
        self._buffers: dict[tuple[str, str], HotkeyBuffer] = {}
        # One update at a time per call: two ParticipantsUpdated in a row must not start twice.
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def enabled(self) -> bool:
        return bool(self._hotkeys)

    async def participants_changed(
        self, services: BotServices, call_connection_id: str, participants: Iterable[str]
    ) -> None:
        """Start continuous DTMF for every participant not yet listened to in this call.

        The started ones are kept in the state store: a restarted bot does not start them twice."""
        if not self.enabled:
            return
        async with self._locks.setdefault(call_connection_id, asyncio.Lock()):
            await self._listen(services, call_connection_id, list(participants))

    async def _listen(self, services: BotServices, call_connection_id: str, present: list[str]) -> None:
        call = await services.registry.get(call_connection_id)
        if call is None or not call.is_live:
            # Ended meanwhile: `forget` has run, and nothing may be stored for the call again.
            return
        doc = await services.store.get_doc(NAMESPACE, call_connection_id) or {"started": []}
        # ACS stops listening to a participant who leaves: one who comes back is started again.
        started = [raw_id for raw_id in doc["started"] if raw_id in present]
        new = [raw for raw in present if listens_to(raw, self._audience) and raw not in started]
        for raw_id in new:
            try:
                await services.acs.media.start_continuous_dtmf(
                    call_connection_id, raw_id, operation_context=tone_context(raw_id)
                )
            except AcsError as exc:
                logger.warning("hotkeys: cannot listen to %s in call %s: %s", raw_id, call_connection_id, exc)
                continue
            started.append(raw_id)
        if started != doc["started"]:
            await services.store.put_doc(NAMESPACE, call_connection_id, {"started": started})

    def tone(self, call_connection_id: str, raw_id: str, key: str, now: float) -> str | None:
        """Feed one key of a participant; the hotkey it completes, if any."""
        slot = (call_connection_id, raw_id)
        buffer, matched = press(self._hotkeys, self._buffers.get(slot, HotkeyBuffer()), key, now, self._gap)
        self._buffers[slot] = buffer
        return matched

    async def forget(self, services: BotServices, call_connection_id: str) -> None:
        for slot in [slot for slot in self._buffers if slot[0] == call_connection_id]:
            del self._buffers[slot]
        self._locks.pop(call_connection_id, None)
        await services.store.delete_doc(NAMESPACE, call_connection_id)


def tone_context(raw_id: str) -> str:
    """The operation context of one participant's continuous DTMF: it names them in tone events."""
    return f"menus:{HOTKEY_CONTEXT}:{raw_id}"
