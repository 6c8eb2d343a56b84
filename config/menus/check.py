"""Checking the actions of a menu file (`goto`, `announce`, `dialout`...) and reporting problems.

`Problems` collects every problem of a file, each prefixed with where it is, so that a user fixes
them all in one go; `config.menus.load` extends it with the menu-level checks.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.menus.model import (
    ACTION_KEYS,
    NOTIFY_RESERVED,
    Action,
    Announce,
    AnnounceToEveryone,
    Confirm,
    DialOut,
    EndForEveryone,
    Goto,
    Notify,
    RemoveParticipant,
)
from config.prompts import Prompt

DTMF_KEYS = frozenset("0123456789ABCD*#")


class _NotifyFields(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")
    event: str = Field(min_length=1)


def yaml_text(value: object) -> str:
    """A value as it reads in YAML (``false``, not Python's ``False``)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def suggest(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"


def json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "nothing" if value is None else "a mapping" if isinstance(value, dict) else type(value).__name__


def _pydantic_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error["loc"]]
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown field {'.'.join(loc)!r}")
        elif error["type"] == "missing":
            problems.append(f"field {'.'.join(loc)!r} is required")
        elif loc:
            problems.append(f"field {'.'.join(loc)!r}: {message}")
        else:
            problems.append(message)
    return problems


class Problems:
    """Collects every problem of a file, each prefixed with where it is."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def report(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}" if where else problem)

    def model(self, where: str, model: type[BaseModel], value: object) -> Any:
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            for problem in _pydantic_problems(exc):
                self.report(where, problem)
            return None

    def action(self, where: str, value: object) -> Action | None:
        if not isinstance(value, dict):
            self.report(where, f"an action is a mapping such as {{announce: ...}}, not {json_type(value)}")
            return None
        if len(value) != 1:
            named = ", ".join(repr(key) for key in value) or "none"
            self.report(where, f"an action has exactly one key, this one has {named}: write a list")
            return None
        ((key, argument),) = value.items()
        if key not in ACTION_KEYS:
            self.report(where, f"unknown action {key!r}{suggest(key, ACTION_KEYS)}")
            return None
        where = f"{where} ({key})" if where else key
        match key:
            case "goto":
                if not isinstance(argument, str) or not argument:
                    self.report(where, f"goto takes a menu name, not {json_type(argument)}")
                    return None
                return Goto(menu=argument)
            case "announce" | "announceToEveryone":
                prompt = self.model(where, Prompt, argument)
                if prompt is None:
                    return None
                return Announce(prompt=prompt) if key == "announce" else AnnounceToEveryone(prompt=prompt)
            case "dialout":
                if not isinstance(argument, dict):
                    self.report(where, "dialout takes a mapping such as {phoneNumber: '+14255550123'}")
                    return None
                dialout: DialOut | None = self.model(where, DialOut, argument)
                return dialout
            case "removeParticipant" | "endForEveryone":
                if argument is not True:
                    self.report(where, f"{key} takes true, not {yaml_text(argument)}")
                    return None
                return RemoveParticipant() if key == "removeParticipant" else EndForEveryone()
            case "notify":
                return self.notify(where, argument)
            case _:
                if not isinstance(argument, bool):
                    self.report(where, f"confirm takes true or false, not {yaml_text(argument)}")
                    return None
                return Confirm(confirmed=argument)

    def notify(self, where: str, argument: object) -> Notify | None:
        if isinstance(argument, str):
            argument = {"event": argument}
        if not isinstance(argument, dict):
            self.report(where, "notify takes a mapping such as {event: operator-requested}")
            return None
        if self.model(where, _NotifyFields, argument) is None:
            return None
        fields = {name: value for name, value in argument.items() if name != "event"}
        reserved = sorted(NOTIFY_RESERVED.intersection(fields))
        if reserved:
            self.report(where, f"field {reserved[0]!r} is set by the bot and cannot be given")
            return None
        return Notify(event=argument["event"], fields=fields)

    def actions(self, where: str, value: object) -> tuple[Action, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            self.report(where, "the list of actions is empty")
            return ()
        parsed: list[Action] = []
        for index, item in enumerate(items, start=1):
            here = f"{where}, action {index}" if len(items) > 1 else where
            action = self.action(here, item)
            if action is None:
                continue
            if parsed and parsed[-1].final:
                self.report(here, f"nothing can follow {parsed[-1].key!r}: it leaves the menu")
            parsed.append(action)
        return tuple(parsed)
