"""The DTMF menu engine: a pure state machine, no I/O.

A *session* is one participant going through menus. The handler feeds it inputs (what ACS's
recognize reported, or that the participant left) and carries out the effects it answers: ask for
keys (`Collect`: one ACS recognize, its prompts and timeouts), run an action (`Act`), or finish
(`End`). Effects are returned in the order they must run.

Timing, as ACS applies it to each `Collect`:

- the *first-digit* timeout (ACS ``initialSilenceTimeoutInSeconds``) counts from the end of the
  prompt to the first key; when it passes with no key, the try ends with `NoInput` (8510);
- the *inter-digit* timeout (ACS ``interToneTimeoutInSeconds``) is the longest pause between two
  keys of one entry. A multi-digit entry ends on ``maxDigits`` keys, on a stop tone (which is not
  part of the entry), or on that timeout, and then the keys pressed so far are the entry
  (`InterDigitTimeout`; with none it counts as no input);
- with barge-in, a key pressed while the prompt plays stops the prompt (ACS ``interruptPrompt``).

Tries: a try ends on no input or on an entry that is no option. Each menu allows ``maxTries``
failed tries per session, and going to a menu again (``goto``) does not give it new ones: a
session that reaches a menu whose tries are used up ends with reason ``maxTries``. Once a
menu's tries are used up its ``onMaxTries`` actions run (default: none, the session ends). So
without a valid entry every session ends after at most the sum of its menus' ``maxTries`` tries.

A recognize cancelled by someone else's media operation (`Interrupted`) is asked again without
costing a try, at most `MAX_INTERRUPTIONS` times per session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from config.menus.model import Action as MenuAction
from config.menus.model import ActionRef, Goto, MenuSet
from config.prompts import Prompt

EndReason = Literal["completed", "maxTries", "hangup", "cancelled", "failed"]
Reprompt = Literal["noInput", "invalid"]
MAX_INTERRUPTIONS = 3


@dataclass(frozen=True)
class Session:
    """Where a participant is: current menu, the number of the current try, failures per menu."""

    id: str
    menu: str
    # Recognizes asked so far in the session; the current one's number (operation context).
    attempt: int = 0
    failures: Mapping[str, int] = field(default_factory=dict)
    # What went wrong in the previous try of this menu, said before the menu's prompt.
    reprompt: Reprompt | None = None
    interruptions: int = 0
    last_entry: str | None = None
    ended: EndReason | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "menu": self.menu,
            "attempt": self.attempt,
            "failures": dict(self.failures),
            "reprompt": self.reprompt,
            "interruptions": self.interruptions,
            "lastEntry": self.last_entry,
            "ended": self.ended,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Session:
        return cls(
            id=str(data["id"]),
            menu=str(data["menu"]),
            attempt=int(data["attempt"]),
            failures={str(k): int(v) for k, v in data.get("failures", {}).items()},
            reprompt=data.get("reprompt"),
            interruptions=int(data.get("interruptions", 0)),
            last_entry=data.get("lastEntry"),
            ended=data.get("ended"),
        )


# Inputs.


@dataclass(frozen=True)
class Keys:
    """An entry: the keys ACS collected (max digits reached or stop tone pressed)."""

    keys: str


@dataclass(frozen=True)
class NoInput:
    """No key before the first-digit timeout (ACS 8510)."""


@dataclass(frozen=True)
class InterDigitTimeout:
    """The participant stopped pressing keys mid-entry (ACS 8532); ``keys`` so far, maybe none."""

    keys: str = ""


@dataclass(frozen=True)
class Interrupted:
    """The recognize was cancelled by another media operation (RecognizeCanceled)."""


@dataclass(frozen=True)
class ResultLost:
    """The try's result never came (its event was lost, or the bot was down when it came): the
    participant may well have pressed a key. Asked again, like an interruption, without a try."""


@dataclass(frozen=True)
class PromptFailed:
    """ACS could not run the recognize (e.g. its prompt failed to play, 8511)."""


@dataclass(frozen=True)
class Hangup:
    """The participant left the call, or the call ended."""


@dataclass(frozen=True)
class Cancel:
    """Someone stopped the session."""


Input = Keys | NoInput | InterDigitTimeout | Interrupted | ResultLost | PromptFailed | Hangup | Cancel


# Effects.


@dataclass(frozen=True)
class Collect:
    """Ask ACS to recognize keys from the participant: one try, operation context ``attempt``."""

    attempt: int
    menu: str
    prompts: tuple[Prompt, ...]
    max_digits: int
    stop_tones: tuple[str, ...]
    first_digit_timeout: int
    inter_digit_timeout: int
    barge_in: bool


@dataclass(frozen=True)
class Act:
    """Run action ``index`` of the action list at ``ref``."""

    ref: ActionRef
    index: int
    action: MenuAction


@dataclass(frozen=True)
class End:
    reason: EndReason


Effect = Collect | Act | End


@dataclass(frozen=True)
class Step:
    session: Session
    effects: tuple[Effect, ...]


def start(menus: MenuSet, session_id: str, menu: str) -> Step:
    """A new session at ``menu``; KeyError when there is no such menu."""
    if menu not in menus:
        raise KeyError(menu)
    return _enter(menus, Session(id=session_id, menu=menu), menu, [])


def advance(menus: MenuSet, session: Session, event: Input) -> Step:
    """The session after ``event`` and what to do about it. An ended session ignores everything."""
    if session.ended is not None:
        return Step(session, ())
    match event:
        case Keys(keys=keys):
            return _entry(menus, session, keys)
        case InterDigitTimeout(keys=keys) if keys:
            return _entry(menus, session, keys)
        case NoInput() | InterDigitTimeout():
            return _failed(menus, session, "noInput")
        case Interrupted() | ResultLost():
            if session.interruptions >= MAX_INTERRUPTIONS:
                return _end(session, "cancelled", [])
            again = replace(session, attempt=session.attempt + 1, interruptions=session.interruptions + 1)
            return Step(again, (collect(menus, again),))
        case PromptFailed():
            return _end(session, "failed", [])
        case Hangup():
            return _end(session, "hangup", [])
        case Cancel():
            return _end(session, "cancelled", [])


def collect(menus: MenuSet, session: Session) -> Collect:
    """The recognize of the session's current try."""
    menu = menus[session.menu]
    lead = {"noInput": menu.no_input_prompt, "invalid": menu.invalid_prompt}.get(session.reprompt or "")
    return Collect(
        attempt=session.attempt,
        menu=menu.name,
        prompts=(lead, menu.prompt) if lead is not None else (menu.prompt,),
        max_digits=menu.max_digits,
        stop_tones=menu.stop_tones,
        first_digit_timeout=menu.first_digit_timeout,
        inter_digit_timeout=menu.inter_digit_timeout,
        barge_in=menu.barge_in,
    )


def _entry(menus: MenuSet, session: Session, keys: str) -> Step:
    menu = menus[session.menu]
    entry = menu.entry(keys)
    actions = menu.options.get(entry)
    if actions is None:
        return _failed(menus, replace(session, last_entry=entry), "invalid")
    ref = ActionRef("option", menu.name, entry)
    return _run(menus, replace(session, last_entry=entry), ref, actions, "completed")


def _failed(menus: MenuSet, session: Session, why: Reprompt) -> Step:
    menu = menus[session.menu]
    failures = {**session.failures, menu.name: session.failures.get(menu.name, 0) + 1}
    session = replace(session, failures=failures)
    if failures[menu.name] >= menu.max_tries:
        return _run(menus, session, ActionRef("onMaxTries", menu.name), menu.on_max_tries, "maxTries")
    again = replace(session, attempt=session.attempt + 1, reprompt=why)
    return Step(again, (collect(menus, again),))


def _run(
    menus: MenuSet, session: Session, ref: ActionRef, actions: tuple[MenuAction, ...], reason: EndReason
) -> Step:
    effects: list[Effect] = [
        Act(ref, index, action) for index, action in enumerate(actions) if not isinstance(action, Goto)
    ]
    goto = next((action for action in actions if isinstance(action, Goto)), None)
    if goto is not None:
        return _enter(menus, session, goto.menu, effects)
    return _end(session, reason, effects)


def _enter(menus: MenuSet, session: Session, name: str, effects: list[Effect]) -> Step:
    menu = menus[name]
    if session.failures.get(name, 0) >= menu.max_tries:
        return _end(replace(session, menu=name), "maxTries", effects)
    entered = replace(session, menu=name, attempt=session.attempt + 1, reprompt=None)
    return Step(entered, (*effects, collect(menus, entered)))


def _end(session: Session, reason: EndReason, effects: list[Effect]) -> Step:
    return Step(replace(session, ended=reason), (*effects, End(reason)))


def effect_to_json(effect: Effect) -> dict[str, Any]:
    """A pending effect as the state store keeps it: a reference, not the menu's content."""
    match effect:
        case Collect(attempt=attempt):
            return {"collect": attempt}
        case Act(ref=ref, index=index):
            return {"act": ref.to_json(), "index": index}
        case End(reason=reason):
            return {"end": reason}


def effect_from_json(menus: MenuSet, session: Session, data: Mapping[str, Any]) -> Effect:
    """Rebuild a stored effect; KeyError/ValueError when the menu file no longer has it."""
    if "collect" in data:
        if data["collect"] != session.attempt:
            raise ValueError(f"stored collect {data['collect']} is not the session's try {session.attempt}")
        return collect(menus, session)
    if "act" in data:
        ref = ActionRef.from_json(list(data["act"]))
        index = int(data["index"])
        return Act(ref, index, menus.actions_at(ref)[index])
    reason = data["end"]
    if reason not in ("completed", "maxTries", "hangup", "cancelled", "failed"):
        raise ValueError(f"unknown end reason {reason!r}")
    return End(reason)
