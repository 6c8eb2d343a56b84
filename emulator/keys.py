"""Every `web.AppKey` of the emulator application, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.identity_store import IdentityStore
from emulator.repeatability import RepeatabilityCache
from emulator.requestlog import RequestLog
from emulator.rooms.model import RoomStore

if TYPE_CHECKING:
    # These modules import this one for their own keys, so their classes are named here for
    # the type checker only and the keys below are typed by annotation.
    from emulator.callbacks import CallbackDispatcher
    from emulator.calls.invitations import Ringer
    from emulator.calls.media import MediaEngine
    from emulator.calls.service import CallService
    from emulator.eventgrid import EventGridPublisher
    from emulator.faults import Faults
    from emulator.phones import PhoneBook
    from emulator.signing import CallbackSigner


class PublicUrl:
    """The base URL clients reach the emulator at, known only once the server is bound."""

    def __init__(self, value: str) -> None:
        self.value = value.rstrip("/")


CONFIG = web.AppKey("config", EmulatorConfig)
PUBLIC_URL = web.AppKey("public_url", PublicUrl)
CLOCK = web.AppKey("clock", Clock)
ROOMS = web.AppKey("rooms", RoomStore)
IDENTITIES = web.AppKey("identities", IdentityStore)
REQUEST_LOG = web.AppKey("request_log", RequestLog)
REPEATABILITY = web.AppKey("repeatability", RepeatabilityCache)
SIGNER: web.AppKey[CallbackSigner] = web.AppKey("signer")
CALLBACKS: web.AppKey[CallbackDispatcher] = web.AppKey("callbacks")
EVENT_GRID: web.AppKey[EventGridPublisher] = web.AppKey("event_grid")
CALLS: web.AppKey[CallService] = web.AppKey("calls")
MEDIA: web.AppKey[MediaEngine] = web.AppKey("media")
PHONES: web.AppKey[PhoneBook] = web.AppKey("phones")
INVITATIONS: web.AppKey[Ringer] = web.AppKey("invitations")
FAULTS: web.AppKey[Faults] = web.AppKey("faults")
