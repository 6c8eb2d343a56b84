"""Every `web.AppKey` of the bot application, in one place."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.acs import AcsFacade
from bot.auth.api_keys import ApiKeys
from bot.auth.callback_jwt import CallbackVerifier
from bot.calls import CallCommands
from bot.cluster.election import Election
from bot.connect import RoomConnector
from bot.console.feed import LiveFeed
from bot.console.roles import RoleBook
from bot.dispatch import CallDispatcher
from bot.intake import EventIntake
from bot.metrics import Metrics
from bot.plugins import LoadedHandlers
from bot.registry import CallRegistry
from bot.services import BotServices
from bot.state.base import StateStore
from config.settings import Settings

# Known when the app is built.
SETTINGS = web.AppKey("settings", Settings)
HANDLERS = web.AppKey("handlers", LoadedHandlers)
METRICS = web.AppKey("metrics", Metrics)
API_KEYS = web.AppKey("api_keys", ApiKeys)

# Set by the cleanup contexts when the app starts.
HTTP = web.AppKey("http", aiohttp.ClientSession)
STORE = web.AppKey("store", StateStore)
ACS = web.AppKey("acs", AcsFacade)
REGISTRY = web.AppKey("registry", CallRegistry)
VERIFIER = web.AppKey("verifier", CallbackVerifier)
SERVICES = web.AppKey("services", BotServices)
INTAKE = web.AppKey("intake", EventIntake)
DISPATCHER = web.AppKey("dispatcher", CallDispatcher)
ELECTION = web.AppKey("election", Election)
COMMANDS = web.AppKey("commands", CallCommands)
CONNECTOR = web.AppKey("connector", RoomConnector)

# The operator console's: the live feed of call changes, and room roles (Rooms API, cached).
FEED = web.AppKey("feed", LiveFeed)
ROLES = web.AppKey("roles", RoleBook)
