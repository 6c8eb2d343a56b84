"""The commands and events handlers exchange over the bus (see `bot.bus`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from config.prompts import Prompt


@dataclass(frozen=True)
class EndForEveryone:
    """Command: terminate the call for every participant. Handled by the bot core."""

    call_connection_id: str


@dataclass(frozen=True)
class Announce:
    """Command: play ``prompt`` in a call to ``to``: None (everyone) or a list of raw ids.

    Returns the announcement id; with ``wait`` it returns only once the play finished (a menu
    says "Goodbye." before removing the participant). Handled by the ``announcements`` handler."""

    call_connection_id: str
    prompt: Prompt
    to: tuple[str, ...] | None = None
    loop: bool = False
    interrupt: bool = False
    wait: bool = False


@dataclass(frozen=True)
class RunMenu:
    """Command: run DTMF menu ``menu`` for one participant. Returns the menu session id.

    ``context`` travels with the session and comes back in `MenuConfirmed` (e.g. the dial-out
    id that a confirmation menu settles). Handled by the ``menus`` handler."""

    call_connection_id: str
    participant_raw_id: str
    menu: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StartDialOut:
    """Command: invite a phone number into the room's call (a menu's ``dialout`` action).

    Returns the dial-out's JSON view. Handled by the ``dialout`` handler."""

    room_id: str
    phone_number: str
    caller_id: str | None = None
    ring_timeout_seconds: int | None = None
    confirm_with_dtmf: bool = False
    announcement: Prompt | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class MenuConfirmed:
    """Event: a menu's ``confirm: true|false`` action ran for a participant."""

    call_connection_id: str
    participant_raw_id: str
    confirmed: bool
    session_id: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MenuEnded:
    """Event: a menu session finished (``reason``: completed, maxTries, hangup, cancelled)."""

    call_connection_id: str
    participant_raw_id: str
    session_id: str
    reason: str
    context: dict[str, Any] = field(default_factory=dict)


class MenuRefused(Exception):
    """Raised by the `RunMenu` command when the menu cannot start.

    ``reason``: ``unknown-menu`` (no such menu in the menu file), ``no-call`` (the call is not
    live) or ``busy`` (the participant is already in a menu)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class EventGridNotification:
    """Event: an Event Grid event the core does not handle itself reached ``/api/eventgrid``
    (such as ``Microsoft.Communication.RecordingFileStatusUpdated``), for the handlers that want it."""

    event_type: str
    subject: str
    data: dict[str, Any]
    event_id: str
