"""Simulated PSTN phones, scripted through the control API.

- ``PUT /emulator/phones/{e164}`` ``{answer: accept|busy|noAnswer|decline, answerAfterSeconds,
  dtmf: [{afterSeconds, tones}]}`` → 200 with the stored behaviour. Every field is optional (a PUT
  replaces the whole behaviour, so a missing field takes its default). It applies to calls that
  start ringing afterwards, never to one already ringing.
- ``GET /emulator/phones/{e164}`` → the behaviour the next call meets; ``DELETE`` → 204, back to the
  default: accept after 1 simulated second, press no keys. ``GET /emulator/phones`` (the console's,
  ``emulator.console.views``) lists the numbers given a behaviour.
- ``GET /emulator/invitations`` (optional ``?roomId=`` and ``?phoneNumber=``) → every invitation
  ``participants:add`` made, oldest first, with its state: what tests check to prove that a retried
  dial-out rang once. Ringing ones are all there; of the finished ones, the last 1000.

``answerAfterSeconds`` is how long the phone rings before it reacts: it picks up (accept), rejects
(busy, decline), or, for noAnswer, never reacts, so the invitation times out. A phone that would
react only after the invitation timeout counts as not answering. ``dtmf`` steps run after the
phone answered: each presses its ``tones`` ``afterSeconds`` after the answer; tones are keys
(``"1#"``) or tone words (``"one"``), as the ``:dtmf`` control route takes them. Numbers are
E.164 (``+`` and digits, URL-encoded ``%2B`` works too) and must be valid numbers for
``phonenumbers``; anything else is 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

import phonenumbers
from aiohttp import web

from emulator.calls.media.tones import ToneError, parse_keys
from emulator.protocol.errors import AcsError

Answer = Literal["accept", "busy", "noAnswer", "decline"]
DEFAULT_ANSWER_AFTER_SECONDS = 1.0
# Bounds that keep a typo from scripting an hour of ringing or an endless keypad script.
MAX_SECONDS = 3600.0
MAX_DTMF_STEPS = 50
MAX_TONES = 32
FIELDS = frozenset({"answer", "answerAfterSeconds", "dtmf"})


def e164(value: str) -> str | None:
    """``value`` if it is a valid phone number written in E.164, else None."""
    if not value.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return value if formatted == value else None


@dataclass(frozen=True)
class KeyPresses:
    after_seconds: float
    # As ACS names them on the wire ("one", "pound").
    tones: tuple[str, ...]
    # As the script gave them ("1#"), echoed back unchanged.
    given: str | tuple[str, ...]

    def wire(self) -> dict[str, Any]:
        given = self.given if isinstance(self.given, str) else list(self.given)
        return {"afterSeconds": self.after_seconds, "tones": given}


@dataclass(frozen=True)
class PhoneBehaviour:
    answer: Answer = "accept"
    answer_after_seconds: float = DEFAULT_ANSWER_AFTER_SECONDS
    dtmf: tuple[KeyPresses, ...] = field(default_factory=tuple)

    def wire(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "answerAfterSeconds": self.answer_after_seconds,
            "dtmf": [step.wire() for step in self.dtmf],
        }


class PhoneBook:
    """Behaviours by E.164 number; a number never configured behaves as the default."""

    def __init__(self) -> None:
        self._behaviours: dict[str, PhoneBehaviour] = {}

    def behaviour(self, number: str) -> PhoneBehaviour:
        return self._behaviours.get(number, PhoneBehaviour())

    def set(self, number: str, behaviour: PhoneBehaviour) -> None:
        self._behaviours[number] = behaviour

    def reset(self, number: str) -> None:
        self._behaviours.pop(number, None)

    def configured(self) -> list[tuple[str, PhoneBehaviour]]:
        """The numbers given a behaviour, in the order they were first given one."""
        return list(self._behaviours.items())


def bad_request(message: str, target: str | None = None) -> AcsError:
    return AcsError(400, "BadRequest", message, target=target)


def _seconds(value: Any, target: str) -> float:
    # bool is an int to Python, but `true` seconds is a mistake in the request.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SECONDS:
        raise bad_request(f"{target} must be a number of seconds between 0 and {MAX_SECONDS:g}.", target)
    return float(value)


def _key_presses(value: Any) -> tuple[KeyPresses, ...]:
    if not isinstance(value, list) or len(value) > MAX_DTMF_STEPS:
        raise bad_request(f"dtmf must be a list of at most {MAX_DTMF_STEPS} steps.", "dtmf")
    steps = []
    for index, step in enumerate(value):
        target = f"dtmf[{index}]"
        if not isinstance(step, dict) or set(step) - {"afterSeconds", "tones"}:
            raise bad_request(f"{target} must be an object {{afterSeconds, tones}}.", target)
        given = step.get("tones")
        if not isinstance(given, str | list):
            raise bad_request(f'{target}.tones must be keys ("1#") or a list of them.', f"{target}.tones")
        try:
            tones = tuple(parse_keys(given))
        except ToneError as exc:
            raise bad_request(f"{target}.tones: {exc}.", f"{target}.tones") from None
        if len(tones) > MAX_TONES:
            raise bad_request(f"{target}.tones: at most {MAX_TONES} keys.", f"{target}.tones")
        after = _seconds(step.get("afterSeconds", 0), f"{target}.afterSeconds")
        steps.append(KeyPresses(after, tones, given if isinstance(given, str) else tuple(given)))
    return tuple(steps)


def parse_behaviour(body: Any) -> PhoneBehaviour:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise bad_request(f"Unknown field(s): {', '.join(unknown)}.", unknown[0])
    answer = body.get("answer", "accept")
    if answer not in get_args(Answer):
        raise bad_request(f"answer must be one of {', '.join(get_args(Answer))}.", "answer")
    return PhoneBehaviour(
        answer=cast(Answer, answer),
        answer_after_seconds=_seconds(
            body.get("answerAfterSeconds", DEFAULT_ANSWER_AFTER_SECONDS), "answerAfterSeconds"
        ),
        dtmf=_key_presses(body.get("dtmf", [])),
    )


def _number(request: web.Request) -> str:
    raw = request.match_info["number"]
    number = e164(raw)
    if number is None:
        raise bad_request(f"{raw!r} is not a valid E.164 phone number (such as +14255550123).", "number")
    return number


def _view(number: str, behaviour: PhoneBehaviour) -> dict[str, Any]:
    return {"phoneNumber": number, **behaviour.wire()}


def phone_routes(phones: PhoneBook) -> list[web.RouteDef]:
    """``PUT``/``GET``/``DELETE /emulator/phones/{number}`` (control API)."""

    async def put_phone(request: web.Request) -> web.Response:
        number = _number(request)
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("The request body is not valid JSON.") from None
        behaviour = parse_behaviour(body)
        phones.set(number, behaviour)
        return web.json_response(_view(number, behaviour))

    async def get_phone(request: web.Request) -> web.Response:
        number = _number(request)
        return web.json_response(_view(number, phones.behaviour(number)))

    async def delete_phone(request: web.Request) -> web.Response:
        phones.reset(_number(request))
        return web.Response(status=204)

    path = "/emulator/phones/{number}"
    return [web.put(path, put_phone), web.get(path, get_phone), web.delete(path, delete_phone)]
