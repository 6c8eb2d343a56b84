"""Housekeeping of a state store in the background: small steps, so the event loop never stalls.

Each step (`StateStore.housekeep`) removes at most a few hundred rows found through indexes:
expired event ids, calls finished longer than the retention ago with their histories. While
steps find work they follow each other, yielding to the event loop between them; once one finds
nothing, the next comes after `INTERVAL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging

from bot.state.base import StateStore, StateStoreError

logger = logging.getLogger(f"roombot.{__name__}")

INTERVAL_SECONDS = 60.0
# Between two steps that found work: other work gets the loop (and the store) meanwhile.
PAUSE_SECONDS = 0.02


async def housekeep_forever(store: StateStore, *, interval: float = INTERVAL_SECONDS) -> None:
    """Run until cancelled; a store that fails is tried again at the next interval."""
    while True:
        try:
            removed = await store.housekeep()
        except StateStoreError as exc:
            logger.warning("state store housekeeping failed: %s", exc)
            removed = 0
        await asyncio.sleep(PAUSE_SECONDS if removed else interval)
