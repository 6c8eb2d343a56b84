"""Handlers a third party could write, for the plugin tests: they record what they are given."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from bot import keys
from bot.events import CallEvent, ParticipantsUpdated, PlayCompleted
from bot.handlers import BaseHandler, CallContext
from bot.services import BotServices


class RecorderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = "recorder"


class Recorder(BaseHandler):
    """Keeps every event it is given, with the context it came with."""

    name: ClassVar[str] = "recorder"
    Config: ClassVar[type[BaseModel]] = RecorderConfig

    def __init__(self, config: RecorderConfig) -> None:
        self.config = config
        self.received: list[tuple[CallEvent, CallContext]] = []
        self.started_with: BotServices | None = None
        self.stopped = False

    async def start(self, services: BotServices) -> None:
        await super().start(services)
        self.started_with = services

    async def stop(self) -> None:
        self.stopped = True

    async def on_event(self, event: CallEvent, ctx: CallContext) -> None:
        self.received.append((event, ctx))

    def types(self) -> list[str]:
        return [event.type for event, _ in self.received]

    def ids(self) -> list[str]:
        return [event.id for event, _ in self.received]


class Other(Recorder):
    name: ClassVar[str] = "other"


class Picky(Recorder):
    """Declares the events it acts on: it is given those only."""

    name: ClassVar[str] = "picky"
    events: ClassVar[tuple[type[CallEvent], ...]] = (PlayCompleted, ParticipantsUpdated)


class Boom(BaseHandler):
    """Fails on every event."""

    name: ClassVar[str] = "boom"
    Config: ClassVar[type[BaseModel]] = RecorderConfig

    def __init__(self, config: RecorderConfig) -> None:
        self.config = config

    async def on_event(self, event: CallEvent, ctx: CallContext) -> None:
        raise RuntimeError(f"boom on {event.type}")


class Greeter(BaseHandler):
    """Contributes a backend route, as handlers with triggers do."""

    name: ClassVar[str] = "greeter"
    Config: ClassVar[type[BaseModel]] = RecorderConfig

    def __init__(self, config: RecorderConfig) -> None:
        self.config = config

    def routes(self) -> Iterable[web.RouteDef]:
        return [web.post("/api/rooms/{roomId}/greetings", self.greet)]

    def openapi_paths(self) -> Mapping[str, Any]:
        return {
            "/api/rooms/{roomId}/greetings": {
                "post": {
                    "summary": "Greet the room",
                    "security": [{"backendKey": []}],
                    "parameters": [
                        {"name": "roomId", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {"202": {"description": "Greeting"}},
                }
            }
        }

    async def greet(self, request: web.Request) -> web.Response:
        request.app[keys.API_KEYS].require(request, "backend")
        return web.json_response(
            {"greeted": request.match_info["roomId"], "by": self.config.label}, status=202
        )
