"""The shared services a handler is constructed with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import aiohttp

from bot.acs import AcsFacade
from bot.bus import MessageBus
from bot.media.scheduler import MediaScheduler
from bot.metrics import Metrics
from bot.notify import Notifier
from bot.registry import CallRegistry
from bot.state.base import StateStore
from config.settings import Settings


@dataclass(frozen=True)
class BotServices:
    """Everything long-lived a handler may use; built once per application."""

    settings: Settings
    acs: AcsFacade
    store: StateStore
    registry: CallRegistry
    http: aiohttp.ClientSession
    notifier: Notifier
    metrics: Metrics
    bus: MessageBus
    media: MediaScheduler
    # This process among the bot's replicas: the holder name of the leases it takes.
    replica_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def callback_url(self) -> str:
        """Where ACS posts this bot's callbacks."""
        base = str(self.settings.callback_base_url or "").rstrip("/")
        return f"{base}/api/callbacks"
