"""Why a dial-out request is refused. Routes turn these into problem answers; a bus caller
(a menu's ``dialout`` action) sees them as they are."""

from __future__ import annotations

from typing import ClassVar


class DialOutError(Exception):
    """A dial-out request the bot refuses; ``status`` is the HTTP status the API answers with."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RoomNotFound(DialOutError):
    status = 404
    title = "Room not found"


class DialOutNotFound(DialOutError):
    status = 404
    title = "Dial-out not found"


class DialOutNotAllowed(DialOutError):
    """The room forbids PSTN dial-out (``pstnDialOutEnabled`` is false)."""

    status = 409
    title = "Dial-out not allowed in this room"


class NoLiveCall(DialOutError):
    status = 409
    title = "The bot is not in the room's call"


class NotCancellable(DialOutError):
    status = 409
    title = "Dial-out cannot be cancelled"


class InvalidDialOut(DialOutError):
    status = 422
    title = "Invalid dial-out"


class IdempotencyKeyReused(DialOutError):
    status = 422
    title = "Idempotency key reused"
