"""`dialout`: ring a phone (an interpreter) into a room's call, exactly once per trigger.

Triggers: ``POST /api/rooms/{roomId}/dialouts`` (with ``Idempotency-Key``) and the bus command
`StartDialOut` (a menu's ``dialout`` action; the key is optional there). The dial-out then
follows ACS's events (tagged ``dialout:<id>``): ringing, connected, and, with
``confirmWithDtmf``, the answer of the confirmation menu (bus `RunMenu`, settled by
`MenuConfirmed` / `MenuEnded`). Every final outcome is posted once to ``NOTIFY_URL``.

Modules of this package: `model` (record and state machine), `store` (state store documents),
`service` (create, send, cancel, resume), `reactions` (events and their consequences), `routes`
(HTTP API and its OpenAPI description), `errors` (domain errors and their problem answers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.events import CallEvent
from bot.handlers import BaseHandler, CallContext, Reference
from bot.messages import MenuConfirmed, MenuEnded, StartDialOut
from bot.problems import validation_problem
from bot.services import BotServices
from bot.state.base import CallRecord
from bot.timeline import History, TimelineItem
from handlers.dialout import timeline
from handlers.dialout.errors import InvalidDialOut
from handlers.dialout.model import DialOutRequest
from handlers.dialout.reactions import REACTS_TO, DialOutReactions
from handlers.dialout.routes import DialOutRoutes, openapi_paths
from handlers.dialout.service import DialOutService

# ACS remembers a Repeatability-Request-ID for about 5 minutes; resending later could ring twice.
ACS_REPEATABILITY_WINDOW_SECONDS = 300


class DialOutConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm_menu: str = Field(
        default="interpreter-confirm",
        min_length=1,
        description="The DTMF menu a dial-out with confirmWithDtmf runs for the called party.",
    )
    resend_delay_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Wait before resending an invitation ACS left unanswered; doubles each time.",
    )
    resend_window_seconds: float = Field(
        default=240.0,
        gt=0,
        lt=ACS_REPEATABILITY_WINDOW_SECONDS,
        description="After this long since the first attempt an unanswered invitation is failed, "
        "not resent: ACS forgets its repeatability id after about 5 minutes.",
    )
    keep_finished_hours: float = Field(
        default=24.0,
        gt=0,
        description="How long a finished dial-out (and its Idempotency-Key) stays readable.",
    )


class DialOutHandler(BaseHandler):
    name: ClassVar[str] = "dialout"
    events: ClassVar[tuple[type[CallEvent], ...]] = REACTS_TO
    Config: ClassVar[type[BaseModel]] = DialOutConfig

    def __init__(self, config: DialOutConfig) -> None:
        self.config = config
        self._service: DialOutService | None = None
        self._reactions: DialOutReactions | None = None
        self._routes = DialOutRoutes(lambda: self.service)

    @property
    def service(self) -> DialOutService:
        if self._service is None:
            raise RuntimeError("the dialout handler is used before the bot started")
        return self._service

    async def start(self, services: BotServices) -> None:
        await super().start(services)
        service = DialOutService(
            services,
            resend_delay_seconds=self.config.resend_delay_seconds,
            resend_window_seconds=self.config.resend_window_seconds,
            keep_finished=timedelta(hours=self.config.keep_finished_hours),
        )
        reactions = DialOutReactions(service, confirm_menu=self.config.confirm_menu)
        self._service, self._reactions = service, reactions
        services.bus.handle(StartDialOut, self.start_dial_out)
        services.bus.subscribe(MenuConfirmed, reactions.on_menu_confirmed)
        services.bus.subscribe(MenuEnded, reactions.on_menu_ended)

    async def resume(self) -> None:
        """After every handler started: the confirmation menus it asks for are registered."""
        if self._reactions is None:
            raise RuntimeError("the dialout handler resumes before it started")
        await self._reactions.resume(await self.service.resume())

    async def stop(self) -> None:
        if self._service is not None:
            await self._service.close()

    async def on_event(self, event: CallEvent, ctx: CallContext) -> None:
        if self._reactions is not None:
            await self._reactions.on_event(event)

    def references(self) -> Iterable[Reference]:
        return [Reference("menu", self.config.confirm_menu, "handler 'dialout': confirm_menu")]

    async def timeline(self, call: CallRecord, history: History) -> list[TimelineItem]:
        """The call's dial-outs on the console's timeline (`bot.timeline.TimelineSource`)."""
        mine = [d for d in await self.service.store.all() if d.call_connection_id == call.call_connection_id]
        return timeline.items(mine, history)

    def routes(self) -> Iterable[web.RouteDef]:
        return self._routes.routes()

    def openapi_paths(self) -> Mapping[str, Any]:
        default = self._services is not None and self.services.settings.pstn_caller_id is not None
        return openapi_paths(caller_id_default=default)

    async def start_dial_out(self, command: StartDialOut) -> dict[str, Any]:
        """The `StartDialOut` command: the same dial-out as the HTTP trigger; its JSON view."""
        try:
            request = DialOutRequest(
                phone_number=command.phone_number,
                caller_id=command.caller_id,
                ring_timeout_seconds=command.ring_timeout_seconds,
                confirm_with_dtmf=command.confirm_with_dtmf,
                announcement=command.announcement,
            )
        except ValidationError as exc:
            raise InvalidDialOut(validation_problem(exc).detail) from None
        dialout, _ = await self.service.start(command.room_id, request, command.idempotency_key)
        return dialout.view()
