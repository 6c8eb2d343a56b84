"""Every `web.AppKey` of the emulator application, in one place.

The objects they hold are the emulator's services. None of those modules imports this one: the
app factory (`emulator.app`) builds the services and the route modules read them by key, so the
keys sit above the services and below the routes, and no import leads back here.
"""

from __future__ import annotations

from aiohttp import web

from emulator.calls.invitations import Ringer
from emulator.calls.media.engine import MediaEngine
from emulator.calls.service import CallService
from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.console.deliveries import DeliveryLog
from emulator.console.live import Changes
from emulator.delivery.callbacks import CallbackDispatcher
from emulator.delivery.eventgrid import EventGridPublisher
from emulator.delivery.signing import CallbackSigner
from emulator.faults import Faults
from emulator.identity.store import IdentityStore
from emulator.phones import PhoneBook
from emulator.protocol.repeatability import RepeatabilityCache
from emulator.protocol.requestlog import RequestLog
from emulator.recording.service import RecordingService
from emulator.rooms.model import RoomStore
from emulator.urls import PublicUrl

CONFIG = web.AppKey("config", EmulatorConfig)
PUBLIC_URL = web.AppKey("public_url", PublicUrl)
CLOCK = web.AppKey("clock", Clock)
ROOMS = web.AppKey("rooms", RoomStore)
IDENTITIES = web.AppKey("identities", IdentityStore)
REQUEST_LOG = web.AppKey("request_log", RequestLog)
REPEATABILITY = web.AppKey("repeatability", RepeatabilityCache)
SIGNER = web.AppKey("signer", CallbackSigner)
CALLBACKS = web.AppKey("callbacks", CallbackDispatcher)
EVENT_GRID = web.AppKey("event_grid", EventGridPublisher)
CALLS = web.AppKey("calls", CallService)
MEDIA = web.AppKey("media", MediaEngine)
PHONES = web.AppKey("phones", PhoneBook)
INVITATIONS = web.AppKey("invitations", Ringer)
FAULTS = web.AppKey("faults", Faults)
RECORDINGS = web.AppKey("recordings", RecordingService)
# The console's: what was sent out, and the live feed of changes.
DELIVERIES = web.AppKey("deliveries", DeliveryLog)
CHANGES = web.AppKey("changes", Changes)
