"""The intake tells its store how many callback POSTs are open (what the store's group commit waits
by, `bot.state.grouped.gather`): each counts from its start until its events are stored, and one
that fails stops counting."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.intake import EventIntake
from bot.state.memory import MemoryStateStore


class ToldStore(MemoryStateStore):
    def __init__(self) -> None:
        super().__init__()
        self.open_callbacks: Callable[[], int] | None = None

    def expect(self, open_callbacks: Callable[[], int]) -> None:
        self.open_callbacks = open_callbacks


def test_the_store_sees_the_open_callbacks_and_a_failed_one_stops_counting() -> None:
    store = ToldStore()
    intake = EventIntake(store)
    assert store.open_callbacks is not None
    seen = []

    with intake.callback_open():
        with intake.callback_open():
            seen.append(store.open_callbacks())
        seen.append(store.open_callbacks())
        with pytest.raises(ValueError, match="refused"), intake.callback_open():
            raise ValueError("a refused token")
        seen.append(store.open_callbacks())
    seen.append(store.open_callbacks())

    assert seen == [2, 1, 1, 0]
