"""The ACS edge: the only place where the bot calls the Azure SDKs.

`AcsFacade` is the whole (one retry policy, domain errors instead of azure-core's); its parts are
`media` (play, recognize, DTMF), `participants` (invite, cancel, remove) and `recording` (start,
pause, resume, stop, download), which get the facade's action runner handed in. Routes and
handlers import from here, never from the SDK.
"""

from bot.acs.facade import AcsFacade
from bot.acs.types import (
    AcsConflict,
    AcsError,
    AcsNotFound,
    AcsRejected,
    AcsUnavailable,
    CallInfo,
    ParticipantInfo,
    RoomInfo,
)

__all__ = [
    "AcsConflict",
    "AcsError",
    "AcsFacade",
    "AcsNotFound",
    "AcsRejected",
    "AcsUnavailable",
    "CallInfo",
    "ParticipantInfo",
    "RoomInfo",
]
