"""Stores of the emulator that must not grow without bound: token ids of expired tokens, and
the events waiting for a callback endpoint that does not answer."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from emulator.delivery.callbacks import OrderedQueues
from emulator.identity.store import IdentityStore

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_expired_tokens_are_forgotten_and_live_ones_kept() -> None:
    store = IdentityStore("resource")
    user = store.create()
    store.add_token(user, "short", expires_at=NOW + timedelta(hours=1), now=NOW)
    store.add_token(user, "long", expires_at=NOW + timedelta(hours=24), now=NOW)

    store.add_token(user, "new", expires_at=NOW + timedelta(hours=26), now=NOW + timedelta(hours=2))

    assert not store.token_is_live(user, "short")
    assert store.token_is_live(user, "long")
    assert store.token_is_live(user, "new")
    assert store.live_token_count() == 2


def test_tokens_of_a_deleted_or_revoked_user_expire_without_error() -> None:
    store = IdentityStore("resource")
    gone, revoked = store.create(), store.create()
    store.add_token(gone, "a", expires_at=NOW + timedelta(hours=1), now=NOW)
    store.add_token(revoked, "b", expires_at=NOW + timedelta(hours=1), now=NOW)
    store.delete(gone)
    store.revoke_tokens(revoked)

    store.add_token(revoked, "c", expires_at=NOW + timedelta(hours=3), now=NOW + timedelta(hours=2))

    assert not store.token_is_live(revoked, "b")
    assert store.token_is_live(revoked, "c")
    assert store.live_token_count() == 1


async def test_a_full_queue_drops_its_oldest_items_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    handled: list[list[int]] = []

    async def handle(key: str, items: list[int]) -> None:
        handled.append(items)

    queues: OrderedQueues[str, int] = OrderedQueues(handle, max_batch=10, max_pending=3)
    with caplog.at_level(logging.WARNING, logger="roombot.emulator.callbacks"):
        # No await in between: the worker has not taken anything yet.
        for item in range(6):
            queues.put("endpoint", item)
    async with asyncio.timeout(5):
        await queues.drain()
    await queues.close()

    assert handled == [[3, 4, 5]]
    assert len([r for r in caplog.records if "dropped" in r.getMessage()]) == 3


async def test_queues_under_the_bound_lose_nothing() -> None:
    handled: list[int] = []

    async def handle(key: str, items: list[int]) -> None:
        handled.extend(items)

    queues: OrderedQueues[str, int] = OrderedQueues(handle, max_batch=2, max_pending=5)
    for item in range(5):
        queues.put("endpoint", item)
    async with asyncio.timeout(5):
        await queues.drain()
    await queues.close()

    assert handled == [0, 1, 2, 3, 4]
