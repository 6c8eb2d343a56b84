"""DTMF tones: the words ACS uses on the wire ("one", "pound") and the keys people press ("1#").

The control API and simulated phones accept either form; Call Automation requests carry words
only, as the SDK's ``DtmfTone`` enum does.
"""

from __future__ import annotations

from collections.abc import Sequence

TONE_BY_KEY: dict[str, str] = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
    "A": "a",
    "B": "b",
    "C": "c",
    "D": "d",
    "#": "pound",
    "*": "asterisk",
}
TONES = frozenset(TONE_BY_KEY.values())


class ToneError(ValueError):
    """A key or tone that DTMF does not have; the message names it."""


def is_tone(value: object) -> bool:
    return isinstance(value, str) and value in TONES


def _token(token: str) -> list[str]:
    word = token.strip().lower()
    if word in TONES:
        return [word]
    tones = []
    for key in token.strip().upper():
        tone = TONE_BY_KEY.get(key)
        if tone is None:
            raise ToneError(f"{key!r} is not a DTMF key (0-9, A-D, * or #) nor a tone word")
        tones.append(tone)
    return tones


def parse_keys(value: str | Sequence[str]) -> list[str]:
    """Key presses as tone words.

    A string is a run of keys (``"1#"``), one tone word (``"pound"``) or words and key runs
    separated by commas or spaces (``"one, pound"``); a list holds keys or words, one per item.
    Raises ToneError for anything else or for no key at all.
    """
    tokens = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    tones: list[str] = []
    for token in tokens:
        if not isinstance(token, str) or not token.strip():
            raise ToneError(f"{token!r} is not a DTMF key nor a tone word")
        tones.extend(_token(token))
    if not tones:
        raise ToneError("no DTMF key given")
    return tones
