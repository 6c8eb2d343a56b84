"""DTMF menus: what a menu file holds once loaded and checked.

The YAML format is the README's "DTMF menus" section; `config.menus.load` reads and checks a
file and builds these objects. Everything here is immutable: the handler and the menu engine share one
`MenuSet` for the bot's whole life.

Timeouts follow ACS's recognize options: ``firstDigitTimeoutSeconds`` is ACS's
``initialSilenceTimeoutInSeconds`` (counted from the *end* of the prompt to the first key, 1..300 s)
and ``interDigitTimeoutSeconds`` its ``interToneTimeoutInSeconds`` (the longest pause between two
keys of one entry, 1..60 s).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from config.phone import PhoneNumber
from config.prompts import Prompt

DEFAULT_MENUS_FILE = Path(__file__).with_name("default_menus.yaml")

# ACS's limits on recognize options (RecognizeOptions in the Call Automation REST spec).
FIRST_DIGIT_TIMEOUT_RANGE = (1, 300)
INTER_DIGIT_TIMEOUT_RANGE = (1, 60)
# roombot's own bounds: a longer entry is a form, not a menu; more tries only annoy the caller.
MAX_DIGITS_RANGE = (1, 20)
MAX_TRIES_RANGE = (1, 10)
# ACS rings an invited phone for at most 180 seconds.
RING_TIMEOUT_RANGE = (1, 180)
DEFAULTS: Mapping[str, Any] = {
    "maxDigits": 1,
    "firstDigitTimeoutSeconds": 5,
    "interDigitTimeoutSeconds": 2,
    "maxTries": 3,
    "bargeIn": True,
}
# Fields the bot itself puts in a menu notification; a `notify` action cannot override them.
NOTIFY_RESERVED = frozenset({"event", "roomId", "participant", "menu", "sessionId", "keys"})


class MenuFileError(ValueError):
    """A menu file cannot be used. The message is one line naming the file, where and what."""


class _Action(BaseModel):
    # By name too, so Python code builds actions with snake_case arguments.
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)
    # The YAML key of the action, as users write it.
    key: ClassVar[str]
    # goto, removeParticipant and endForEveryone leave the menu: nothing may follow them.
    final: ClassVar[bool] = False


class Goto(_Action):
    key: ClassVar[str] = "goto"
    final: ClassVar[bool] = True
    menu: str


class Announce(_Action):
    """Say something to the participant in the menu."""

    key: ClassVar[str] = "announce"
    prompt: Prompt


class AnnounceToEveryone(_Action):
    key: ClassVar[str] = "announceToEveryone"
    prompt: Prompt


class DialOut(_Action):
    """Invite a phone number into the room's call (the ``dialout`` handler does it)."""

    key: ClassVar[str] = "dialout"
    phone_number: PhoneNumber
    caller_id: PhoneNumber | None = None
    ring_timeout_seconds: int | None = None
    confirm_with_dtmf: bool = False
    announcement: Prompt | None = None

    @field_validator("ring_timeout_seconds")
    @classmethod
    def _ring_timeout(cls, value: int | None) -> int | None:
        low, high = RING_TIMEOUT_RANGE
        if value is not None and not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} seconds (ACS rings at most {high} s)")
        return value


class RemoveParticipant(_Action):
    key: ClassVar[str] = "removeParticipant"
    final: ClassVar[bool] = True


class EndForEveryone(_Action):
    key: ClassVar[str] = "endForEveryone"
    final: ClassVar[bool] = True


class Notify(_Action):
    """POST ``{event, roomId, participant, menu, sessionId, keys, **fields}`` to NOTIFY_URL."""

    key: ClassVar[str] = "notify"
    event: str = Field(min_length=1)
    fields: Mapping[str, Any] = Field(default_factory=dict)


class Confirm(_Action):
    """Settle whatever the menu session was started for (e.g. a dial-out awaiting a yes)."""

    key: ClassVar[str] = "confirm"
    confirmed: bool


Action = (
    Goto | Announce | AnnounceToEveryone | DialOut | RemoveParticipant | EndForEveryone | Notify | Confirm
)
ACTION_TYPES: tuple[type[_Action], ...] = (
    Goto,
    Announce,
    AnnounceToEveryone,
    DialOut,
    RemoveParticipant,
    EndForEveryone,
    Notify,
    Confirm,
)
ACTION_KEYS: Mapping[str, type[_Action]] = {kind.key: kind for kind in ACTION_TYPES}


ActionSource = Literal["option", "onMaxTries", "hotkey"]


@dataclass(frozen=True)
class ActionRef:
    """Where a list of actions is written: option ``key`` of ``menu``, its onMaxTries, or a hotkey.

    Kept in the state store instead of the actions themselves, so a session survives a restart
    in a few bytes."""

    source: ActionSource
    menu: str | None
    key: str | None = None

    def to_json(self) -> list[str | None]:
        return [self.source, self.menu, self.key]

    @classmethod
    def from_json(cls, value: list[str | None]) -> ActionRef:
        source, menu, key = value
        match source:
            case "option" | "onMaxTries" | "hotkey":
                return cls(source, menu, key)
        raise ValueError(f"unknown action source {source!r}")


@dataclass(frozen=True)
class Menu:
    name: str
    prompt: Prompt
    # Entry (keys without the stop tone, upper case) -> actions run in order.
    options: Mapping[str, tuple[Action, ...]]
    max_digits: int = 1
    stop_tones: tuple[str, ...] = ()
    first_digit_timeout: int = 5
    inter_digit_timeout: int = 2
    max_tries: int = 3
    no_input_prompt: Prompt | None = None
    invalid_prompt: Prompt | None = None
    barge_in: bool = True
    on_max_tries: tuple[Action, ...] = ()

    def entry(self, keys: str) -> str:
        """The entry a key sequence stands for: upper case, a final stop tone dropped."""
        keys = keys.upper()
        if keys and keys[-1] in self.stop_tones:
            keys = keys[:-1]
        return keys


@dataclass(frozen=True)
class MenuSet:
    menus: Mapping[str, Menu]
    hotkeys: Mapping[str, tuple[Action, ...]] = field(default_factory=dict)
    # Where the menus came from, for log lines and errors.
    source: str = "<menus>"

    def __contains__(self, name: object) -> bool:
        return name in self.menus

    def __getitem__(self, name: str) -> Menu:
        return self.menus[name]

    def prompts(self) -> Iterator[tuple[str, Prompt]]:
        """Every prompt of the menus and hotkeys, with where it is written."""
        places: list[tuple[str, tuple[Action, ...]]] = []
        for menu in self.menus.values():
            where = f"menu {menu.name!r}"
            yield f"{where} prompt", menu.prompt
            for name, prompt in (
                ("noInputPrompt", menu.no_input_prompt),
                ("invalidPrompt", menu.invalid_prompt),
            ):
                if prompt is not None:
                    yield f"{where} {name}", prompt
            places += [(f"{where} option {key!r}", actions) for key, actions in menu.options.items()]
            places.append((f"{where} onMaxTries", menu.on_max_tries))
        places += [(f"hotkey {key!r}", actions) for key, actions in self.hotkeys.items()]
        for where, actions in places:
            for action in actions:
                if isinstance(action, Announce | AnnounceToEveryone):
                    yield f"{where} {action.key}", action.prompt
                elif isinstance(action, DialOut) and action.announcement is not None:
                    yield f"{where} dialout announcement", action.announcement

    def actions_at(self, ref: ActionRef) -> tuple[Action, ...]:
        """The actions ``ref`` points at; KeyError when the file no longer has them."""
        if ref.source == "hotkey":
            return self.hotkeys[ref.key or ""]
        menu = self.menus[ref.menu or ""]
        if ref.source == "onMaxTries":
            return menu.on_max_tries
        return menu.options[ref.key or ""]
