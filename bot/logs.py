"""roombot's logging: one root (``roombot``), text or JSON lines, and the call a line is about.

Every logger of the project is named ``roombot.<package path>``, so ``ROOMBOT_LOG_LEVEL`` is set
once, on ``roombot``; other libraries log from WARNING (the Azure SDK's HTTP policy writes every
request at INFO). A line logged while the bot works on a call carries its call connection id
and room id: :func:`log_context` sets them for a block of code (and for the tasks it starts,
which copy the context), and :class:`CallContextFilter` writes them onto every record.
``ROOMBOT_LOG_FORMAT=json`` writes one JSON object a line with python-json-logger.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from typing import Literal, TextIO

from aiohttp import web
from pythonjsonlogger.json import JsonFormatter

ROOT = "roombot"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(call_tag)s"
# Record attribute → JSON member; the attributes are those `CallContext.log` already uses.
JSON_NAMES = {
    "levelname": "level",
    "name": "logger",
    "call_connection_id": "callConnectionId",
    "room_id": "roomId",
}
# The attributes every LogRecord has: python-json-logger leaves them out unless named.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

_call_connection_id: ContextVar[str | None] = ContextVar("roombot_call_connection_id", default=None)
_room_id: ContextVar[str | None] = ContextVar("roombot_room_id", default=None)


def log_context(*, call_connection_id: str | None = None, room_id: str | None = None) -> _LogContext:
    """Tag the lines logged inside the ``with`` block with a call and/or a room (None keeps what
    is set). Whatever :func:`bind_log_context` adds inside the block is undone when it ends, too."""
    return _LogContext(call_connection_id, room_id)


class _LogContext:
    # A class rather than a generator context manager: entered for every event and request.
    __slots__ = ("_call", "_room", "_tokens")

    def __init__(self, call_connection_id: str | None, room_id: str | None) -> None:
        self._call = call_connection_id
        self._room = room_id
        self._tokens: tuple[Token[str | None], Token[str | None]] | None = None

    def __enter__(self) -> None:
        self._tokens = (
            _call_connection_id.set(self._call or _call_connection_id.get()),
            _room_id.set(self._room or _room_id.get()),
        )

    def __exit__(self, *exc_info: object) -> None:
        if self._tokens is not None:
            call_token, room_token = self._tokens
            _room_id.reset(room_token)
            _call_connection_id.reset(call_token)


def bind_log_context(*, room_id: str) -> None:
    """Add the room to the current context (known only once the call is looked up)."""
    _room_id.set(room_id)


def enter_call(call_connection_id: str) -> None:
    """Tag what the current task logs from now on with the call (and no room until
    :func:`bind_log_context` names it): for a task that works on one call only, such as the
    dispatcher's worker of a call, whose context (copied when it was made) is its own."""
    _call_connection_id.set(call_connection_id)
    _room_id.set(None)


@web.middleware
async def log_context_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Requests about one room or call (``/api/rooms/{roomId}/...``, ``/ops/calls/{id}``) log
    with it."""
    info = request.match_info
    with log_context(call_connection_id=info.get("callConnectionId"), room_id=info.get("roomId")):
        return await handler(request)


class CallContextFilter(logging.Filter):
    """Puts the current call and room on each record (an explicit ``extra`` wins), and the
    ``call_tag`` the text format ends with."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (("call_connection_id", _call_connection_id), ("room_id", _room_id)):
            if getattr(record, name, None) is None:
                value = var.get()
                if value is not None:
                    setattr(record, name, value)
        parts = [
            f"{label}={getattr(record, name)}"
            for label, name in (("call", "call_connection_id"), ("room", "room_id"))
            if getattr(record, name, None) is not None
        ]
        record.call_tag = f" [{' '.join(parts)}]" if parts else ""
        return True


def formatter(log_format: Literal["text", "json"]) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            ["levelname", "name", "message"],
            rename_fields=JSON_NAMES,
            timestamp=True,
            # The text format's helper is no content of its own.
            reserved_attrs=[*_STANDARD_ATTRS, "call_tag"],
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(
    level: int | str, log_format: Literal["text", "json"] = "text", *, stream: TextIO | None = None
) -> logging.Handler:
    """One handler on the root logger, writing to stderr; ``level`` for roombot's loggers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(CallContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger(ROOT).setLevel(level)
    # The Rooms SDK stamps Repeatability-First-Sent with a naive utcnow() and then warns about
    # its own value on every create_room: noise that says nothing about this program.
    logging.getLogger("azure.communication.rooms._generated._serialization").setLevel(logging.ERROR)
    return handler
