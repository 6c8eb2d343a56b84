"""DTMF keys as people write them ("1#") and as ACS names them (["one", "pound"])."""

from __future__ import annotations

from collections.abc import Iterable

TONE_NAMES: dict[str, str] = {
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
KEYS_BY_NAME = {name: key for key, name in TONE_NAMES.items()}
VALID_KEYS = frozenset(TONE_NAMES)


def to_tones(keys: str) -> list[str]:
    """``"1#"`` → ``["one", "pound"]``; raises ValueError naming a key that is not a DTMF key."""
    tones = []
    for key in keys.upper():
        name = TONE_NAMES.get(key)
        if name is None:
            raise ValueError(f"{key!r} is not a DTMF key (0-9, A-D, * or #)")
        tones.append(name)
    return tones


def to_keys(tones: Iterable[str]) -> str:
    """``["one", "pound"]`` → ``"1#"``; also accepts tones already written as keys."""
    keys = []
    for tone in tones:
        lowered = tone.lower()
        if lowered in KEYS_BY_NAME:
            keys.append(KEYS_BY_NAME[lowered])
        elif tone.upper() in TONE_NAMES:
            keys.append(tone.upper())
        else:
            raise ValueError(f"{tone!r} is not a DTMF tone")
    return "".join(keys)
