"""Fault injection: Call Automation answers that fail, callbacks that go astray.

``PUT /emulator/faults`` ``{callAutomation: {...}, callbacks: {...}}`` → 200 with what is now in
force (a PUT replaces both halves; a missing half means none). ``GET`` shows it with the count of
faults left; ``DELETE`` → 204 clears everything.

``callAutomation`` ``{status (400..599), probability (0..1, default 1), count (fault the next N
matching requests, then stop), retryAfterSeconds, mode: refuse | loseAnswer, paths}``. A request
matches when it is a Call Automation request (under ``/calling``, the public signing keys
excepted) whose path ends with one of ``paths`` (such as ``":add"``), or any when ``paths`` is
absent; it is then faulted with ``probability``. The fault answer is the ACS error body with the
status's name as code, plus ``Retry-After`` (whole seconds, rounded up) and ``retry-after-ms`` when
``retryAfterSeconds`` is set; these are protocol times, never scaled by ``--time-scale``.

- ``refuse``: answer the fault and do nothing. The fault sits before the Repeatability-Request-ID
  cache, so a retry with the same id is processed as new.
- ``loseAnswer``: perform the action (the repeatability cache stores its real answer), then answer
  the fault instead, as a network that drops a response would: a client retrying with the same
  Repeatability-Request-ID gets the first real answer, and nothing happens twice.

``callbacks`` ``{duplicate (0..1), reorder (bool), batch (bool), delaySeconds, drop (0..1)}``,
applied where every callback goes out (``CallbackDispatcher``), which otherwise sends one event per
POST as ACS does: ``drop`` loses an event before it is queued; ``duplicate`` POSTs a delivery a
second time right after the first; ``reorder`` sends the events queued together (such as
CallConnected with its ParticipantsUpdated) newest first; ``batch`` sends the events queued
together in one JSON array, as a receiver that handles only ``body[0]`` must be shown to fail;
``delaySeconds`` (simulated) waits before each delivery. Event Grid is not affected.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal, TypeVar, cast, get_args

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from emulator.delivery.callbacks import one_per_post
from emulator.protocol.errors import AcsError

Mode = Literal["refuse", "loseAnswer"]
T = TypeVar("T")
MAX_SECONDS = 3600.0
CALL_AUTOMATION_FIELDS = frozenset({"status", "probability", "count", "retryAfterSeconds", "mode", "paths"})
CALLBACK_FIELDS = frozenset({"duplicate", "reorder", "batch", "delaySeconds", "drop"})


@dataclass
class CallAutomationFault:
    status: int
    probability: float = 1.0
    count: int | None = None
    retry_after_seconds: float | None = None
    mode: Mode = "refuse"
    paths: tuple[str, ...] | None = None
    # How many of ``count`` are left; None when every matching request may be faulted.
    remaining: int | None = None

    def matches(self, path: str) -> bool:
        return self.paths is None or any(path.endswith(suffix) for suffix in self.paths)

    def error(self) -> AcsError:
        headers: dict[str, str] = {}
        if self.retry_after_seconds is not None:
            headers["Retry-After"] = str(math.ceil(self.retry_after_seconds))
            headers["retry-after-ms"] = str(round(self.retry_after_seconds * 1000))
        code = HTTPStatus(self.status).phrase.replace(" ", "") if self.status in _KNOWN else "Error"
        message = f"Fault injected by the emulator ({self.mode}): answering {self.status}."
        return AcsError(self.status, code, message, headers=headers)

    def wire(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "probability": self.probability,
            "count": self.count,
            "remaining": self.remaining,
            "retryAfterSeconds": self.retry_after_seconds,
            "mode": self.mode,
            "paths": None if self.paths is None else list(self.paths),
        }


_KNOWN = frozenset(status.value for status in HTTPStatus)


@dataclass(frozen=True)
class CallbackFaults:
    duplicate: float = 0.0
    reorder: bool = False
    batch: bool = False
    delay_seconds: float = 0.0
    drop: float = 0.0

    def wire(self) -> dict[str, Any]:
        return {
            "duplicate": self.duplicate,
            "reorder": self.reorder,
            "batch": self.batch,
            "delaySeconds": self.delay_seconds,
            "drop": self.drop,
        }


class Faults:
    """What is in force, and the dice. Also the dispatcher's ``DeliveryFaults`` hook."""

    def __init__(self, rng: random.Random | None = None) -> None:
        # Dice for test faults, not for secrets.
        self._random = rng or random.Random()  # noqa: S311
        self.call_automation: CallAutomationFault | None = None
        self.callbacks: CallbackFaults | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "callAutomation": None if self.call_automation is None else self.call_automation.wire(),
            "callbacks": None if self.callbacks is None else self.callbacks.wire(),
        }

    def take(self, path: str) -> CallAutomationFault | None:
        """The fault to answer this request with, if it gets one (and counts it)."""
        fault = self.call_automation
        if fault is None or not fault.matches(path) or fault.remaining == 0:
            return None
        if self._random.random() >= fault.probability:
            return None
        if fault.remaining is not None:
            fault.remaining -= 1
        return fault

    def drops(self) -> bool:
        return self.callbacks is not None and self._random.random() < self.callbacks.drop

    def delay_seconds(self) -> float:
        return 0.0 if self.callbacks is None else self.callbacks.delay_seconds

    def deliveries(self, events: list[T]) -> list[list[T]]:
        """The POST bodies that carry ``events``, in the order they go out."""
        faults = self.callbacks
        if faults is None:
            return one_per_post(events)
        ordered = list(reversed(events)) if faults.reorder else list(events)
        bodies = [ordered] if faults.batch else one_per_post(ordered)
        sent: list[list[T]] = []
        for body in bodies:
            sent.append(body)
            if self._random.random() < faults.duplicate:
                sent.append(body)
        return sent


def bad_request(message: str, target: str) -> AcsError:
    return AcsError(400, "BadRequest", message, target=target)


def _object(value: Any, fields: frozenset[str], target: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"{target} must be an object.", target)
    unknown = sorted(set(value) - fields)
    if unknown:
        raise bad_request(f"Unknown field {target}.{unknown[0]}.", f"{target}.{unknown[0]}")
    return cast(dict[str, Any], value)


def _number(value: Any, target: str, low: float, high: float) -> float:
    # bool is an int to Python, but `true` is no probability.
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise bad_request(f"{target} must be a number from {low:g} to {high:g}.", target)
    return float(value)


def _optional(body: dict[str, Any], name: str, parse: Callable[[Any, str], T], within: str) -> T | None:
    value = body.get(name)
    return None if value is None else parse(value, f"{within}.{name}" if within else name)


def _count(value: Any, target: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad_request(f"{target} must be a whole number of requests, at least 1.", target)
    return value


def _paths(value: Any, target: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(p, str) and p for p in value):
        raise bad_request(f'{target} must be a non-empty list of path suffixes such as ":add".', target)
    return tuple(value)


def parse_call_automation(value: Any) -> CallAutomationFault:
    body = _object(value, CALL_AUTOMATION_FIELDS, "callAutomation")
    status = body.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise bad_request(
            "callAutomation.status must be an HTTP error status, 400 to 599.", "callAutomation.status"
        )
    mode = body.get("mode", "refuse")
    if mode not in get_args(Mode):
        raise bad_request(
            f"callAutomation.mode must be one of {', '.join(get_args(Mode))}.", "callAutomation.mode"
        )
    count = _optional(body, "count", _count, "callAutomation")
    return CallAutomationFault(
        status=status,
        probability=_number(body.get("probability", 1.0), "callAutomation.probability", 0.0, 1.0),
        count=count,
        retry_after_seconds=_optional(
            body, "retryAfterSeconds", lambda v, t: _number(v, t, 0.0, MAX_SECONDS), "callAutomation"
        ),
        mode=cast(Mode, mode),
        paths=_optional(body, "paths", _paths, "callAutomation"),
        remaining=count,
    )


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise bad_request(f"callbacks.{name} must be true or false.", f"callbacks.{name}")
    return value


def parse_callbacks(value: Any) -> CallbackFaults:
    body = _object(value, CALLBACK_FIELDS, "callbacks")
    return CallbackFaults(
        duplicate=_number(body.get("duplicate", 0.0), "callbacks.duplicate", 0.0, 1.0),
        reorder=_flag(body, "reorder"),
        batch=_flag(body, "batch"),
        delay_seconds=_number(body.get("delaySeconds", 0.0), "callbacks.delaySeconds", 0.0, MAX_SECONDS),
        drop=_number(body.get("drop", 0.0), "callbacks.drop", 0.0, 1.0),
    )


def fault_middleware(faults: Faults, is_public: Callable[[str], bool]) -> Middleware:
    """Answer Call Automation requests with the configured fault; sits between the api-version
    check and the repeatability cache."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_public(request.path) or not request.path.startswith("/calling/"):
            return await handler(request)
        fault = faults.take(request.path)
        if fault is None:
            return await handler(request)
        if fault.mode == "loseAnswer":
            # The action's own answer is what gets lost, whichever it was.
            with contextlib.suppress(AcsError, web.HTTPException):
                await handler(request)
        raise fault.error()

    return middleware


def fault_routes(faults: Faults) -> list[web.RouteDef]:
    """``PUT``/``GET``/``DELETE /emulator/faults`` (control API)."""

    async def put_faults(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("The request body is not valid JSON.", "body") from None
        body = _object(body, frozenset({"callAutomation", "callbacks"}), "body")
        call_automation = _optional(body, "callAutomation", lambda v, _: parse_call_automation(v), "")
        callbacks = _optional(body, "callbacks", lambda v, _: parse_callbacks(v), "")
        faults.call_automation, faults.callbacks = call_automation, callbacks
        return web.json_response(faults.wire())

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response(faults.wire())

    async def delete_faults(request: web.Request) -> web.Response:
        faults.call_automation = faults.callbacks = None
        return web.Response(status=204)

    path = "/emulator/faults"
    return [web.put(path, put_faults), web.get(path, get_faults), web.delete(path, delete_faults)]
