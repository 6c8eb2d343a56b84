"""State stores behind one protocol, chosen by URL (`ROOMBOT_STATE_URL`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.state.base import (
    DEFAULT_RETENTION_SECONDS,
    CallRecord,
    CallState,
    InboxEvent,
    ParticipantRecord,
    StateStore,
    StateStoreError,
)
from bot.state.memory import MemoryStateStore
from bot.state.redis import DEFAULT_PREFIX, RedisStateStore
from bot.state.sqlite import SqliteStateStore

__all__ = [
    "CallRecord",
    "CallState",
    "InboxEvent",
    "MemoryStateStore",
    "ParticipantRecord",
    "RedisStateStore",
    "SqliteStateStore",
    "StateStore",
    "StateStoreError",
    "open_store",
    "sqlite_path",
]

SUPPORTED_SCHEMES = ("memory", "sqlite", "redis", "rediss")


def sqlite_path(url: str) -> str:
    """`sqlite:///data/roombot.db` -> `data/roombot.db` (relative); `sqlite:////var/x.db` -> `/var/x.db`.

    As in SQLAlchemy: three slashes then the path, so a fourth slash makes it absolute.
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ValueError(f"SQLite state URL must look like sqlite:///path/to/file.db, got {url!r}")
    return url[len(prefix) :]


async def open_store(
    url: str,
    *,
    redis_prefix: str = DEFAULT_PREFIX,
    redis_pool_size: int | None = None,
    redis_pool_timeout: float | None = None,
    retention_seconds: float = DEFAULT_RETENTION_SECONDS,
) -> StateStore:
    """Open the store a URL names, connected and ready: `memory://`, `sqlite:///path`, `redis://h:p/db`.

    ``retention_seconds``: how long a finished call and its history are kept after it ended."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryStateStore(retention_seconds=retention_seconds)
    if scheme == "sqlite":
        return await SqliteStateStore.open(sqlite_path(url), retention_seconds=retention_seconds)
    if scheme in ("redis", "rediss"):
        return await RedisStateStore.connect(
            url,
            prefix=redis_prefix,
            pool_size=redis_pool_size,
            pool_timeout=redis_pool_timeout,
            retention_seconds=retention_seconds,
        )
    # Only the scheme is named: the rest of a URL may hold a password.
    raise ValueError(
        f"unsupported state store URL scheme {scheme or '(none)'!r};"
        f" use one of {', '.join(s + '://' for s in SUPPORTED_SCHEMES)}"
    )
