"""Locks by key (a call, a dial-out, a menu session) for read-modify-write on the state store."""

from __future__ import annotations

import asyncio
import weakref


class KeyedLocks:
    """``locks[key]`` is one ``asyncio.Lock`` per key, made on first use.

    The map holds its locks weakly: a lock is forgotten once nobody holds or waits for it, so a
    long-running bot does not keep one for every call it ever saw."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def __getitem__(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def __contains__(self, key: object) -> bool:
        """Whether the key's lock is in use now (held, awaited, or referenced)."""
        return key in self._locks

    def __len__(self) -> int:
        """How many locks are in use now (held, awaited, or referenced)."""
        return len(self._locks)
