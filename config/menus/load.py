"""Reading a menu file: YAML in, a checked `MenuSet` out, or one line saying what is wrong.

Every problem is reported as ``<file>: <where>: <what>``, e.g.
``menus.yaml: menu 'lang', option '9': goto target 'nope' is not a menu``; when a file has several,
they are joined on the same line with "; ". Unknown fields are errors (with a suggestion when one
is close), so a typo never passes silently.

Keys are read as written: YAML would turn an unquoted ``1:`` into a number and ``01:`` into an
octal one, so the loader keeps every mapping key as its text and refuses duplicate keys (PyYAML
would silently keep the last).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic.alias_generators import to_camel

from config.menus.check import DTMF_KEYS, Problems, json_type, suggest
from config.menus.model import (
    DEFAULTS,
    FIRST_DIGIT_TIMEOUT_RANGE,
    INTER_DIGIT_TIMEOUT_RANGE,
    MAX_DIGITS_RANGE,
    MAX_TRIES_RANGE,
    Action,
    Confirm,
    Goto,
    Menu,
    MenuFileError,
    MenuSet,
)
from config.prompts import Prompt

MENU_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_HOTKEY_LENGTH = 8
TOP_LEVEL = ("menus", "hotkeys")


class _Loader(yaml.SafeLoader):
    """`yaml.SafeLoader` whose mapping keys stay text and must be unique."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[str, Any]:
    loader.flatten_mapping(node)
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be plain text", key_node.start_mark
            )
        key = str(key_node.value)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _MenuFields(BaseModel):
    """A menu's scalar fields; options and onMaxTries are parsed by hand for better errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel)

    prompt: Prompt
    max_digits: int = DEFAULTS["maxDigits"]
    stop_tones: tuple[str, ...] = ()
    first_digit_timeout_seconds: int = DEFAULTS["firstDigitTimeoutSeconds"]
    inter_digit_timeout_seconds: int = DEFAULTS["interDigitTimeoutSeconds"]
    max_tries: int = DEFAULTS["maxTries"]
    no_input_prompt: Prompt | None = None
    invalid_prompt: Prompt | None = None
    barge_in: bool = DEFAULTS["bargeIn"]

    @field_validator("max_digits")
    @classmethod
    def _max_digits(cls, value: int) -> int:
        return _in_range(value, MAX_DIGITS_RANGE, "keys")

    @field_validator("first_digit_timeout_seconds")
    @classmethod
    def _first_digit(cls, value: int) -> int:
        return _in_range(value, FIRST_DIGIT_TIMEOUT_RANGE, "seconds (ACS's initial silence timeout)")

    @field_validator("inter_digit_timeout_seconds")
    @classmethod
    def _inter_digit(cls, value: int) -> int:
        return _in_range(value, INTER_DIGIT_TIMEOUT_RANGE, "seconds (ACS's inter-tone timeout)")

    @field_validator("max_tries")
    @classmethod
    def _max_tries(cls, value: int) -> int:
        return _in_range(value, MAX_TRIES_RANGE, "tries")

    @field_validator("stop_tones")
    @classmethod
    def _stop_tones(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        tones = tuple(tone.upper() for tone in value)
        for tone in tones:
            if len(tone) != 1 or tone not in DTMF_KEYS:
                raise ValueError(f"{tone!r} is not a DTMF key (0-9, A-D, * or #)")
        return tones


MENU_FIELDS = (*(f.alias or name for name, f in _MenuFields.model_fields.items()), "options", "onMaxTries")


def _tones(value: object) -> tuple[str, ...]:
    """The stop tones of a menu whose fields are invalid, as far as they can be read."""
    if not isinstance(value, list):
        return ()
    return tuple(str(tone).upper() for tone in value if str(tone).upper() in DTMF_KEYS)


def _in_range(value: int, bounds: tuple[int, int], unit: str) -> int:
    low, high = bounds
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range: it must be between {low} and {high} {unit}")
    return value


class _Checker(Problems):
    """Adds the menu-level checks to the action checks."""

    def options(
        self, where: str, value: object, max_digits: int, stop_tones: tuple[str, ...]
    ) -> dict[str, tuple[Action, ...]]:
        if not isinstance(value, dict) or not value:
            self.report(where, "options must map keys to actions, e.g. '1': {announce: Hello}")
            return {}
        options: dict[str, tuple[Action, ...]] = {}
        written: dict[str, str] = {}
        for key, actions in value.items():
            here = f"{where}, option {key!r}"
            entry = self.option_key(here, str(key), max_digits, stop_tones)
            parsed = self.actions(here, actions)
            if entry is None:
                continue
            if entry in written:
                self.report(here, f"is the same entry as option {written[entry]!r}")
                continue
            written[entry] = str(key)
            options[entry] = parsed
        return options

    def option_key(self, where: str, key: str, max_digits: int, stop_tones: tuple[str, ...]) -> str | None:
        entry = key.upper()
        if not entry:
            self.report(where, "an option needs at least one key")
            return None
        bad = next((char for char in key if char.upper() not in DTMF_KEYS), None)
        if bad is not None:
            self.report(where, f"{bad!r} is not a DTMF key (0-9, A-D, * or #)")
            return None
        # A trailing stop tone may be written for readability ("12#"); it is not part of the entry.
        if entry[-1] in stop_tones:
            entry = entry[:-1]
        if not entry:
            self.report(where, f"{key!r} is a stop tone: it ends an entry and is not part of one")
            return None
        stop = next((char for char in entry if char in stop_tones), None)
        if stop is not None:
            self.report(where, f"{stop!r} is a stop tone and would end the entry before the last key")
            return None
        if len(entry) > max_digits:
            self.report(where, f"has {len(entry)} keys, more than maxDigits ({max_digits})")
            return None
        return entry

    def menu(self, name: str, value: object) -> Menu | None:
        where = f"menu {name!r}"
        if not MENU_NAME.match(name):
            self.report(where, "a menu name is 1 to 64 letters, digits, '-', '_' or '.'")
        if not isinstance(value, dict):
            self.report(where, f"a menu is a mapping with a prompt and options, not {json_type(value)}")
            return None
        unknown = [key for key in value if key not in MENU_FIELDS]
        for key in unknown:
            self.report(where, f"unknown field {key!r}{suggest(key, MENU_FIELDS)}")
        scalars = {key: item for key, item in value.items() if key not in ("options", "onMaxTries", *unknown)}
        fields: _MenuFields | None = self.model(where, _MenuFields, scalars)
        # Options are checked even when a field is wrong, so that one run reports everything;
        # with unusable fields the key-length check is left out rather than guessed.
        if fields is not None:
            limits = (fields.max_digits, fields.stop_tones)
        else:
            limits = (MAX_DIGITS_RANGE[1], _tones(value.get("stopTones")))
        if "options" not in value:
            self.report(where, "field 'options' is required")
        options = self.options(where, value.get("options"), *limits) if "options" in value else {}
        on_max_tries = (
            self.actions(f"{where}, onMaxTries", value["onMaxTries"]) if "onMaxTries" in value else ()
        )
        if fields is None:
            return None
        return Menu(
            name=name,
            prompt=fields.prompt,
            options=options,
            max_digits=fields.max_digits,
            stop_tones=fields.stop_tones,
            first_digit_timeout=fields.first_digit_timeout_seconds,
            inter_digit_timeout=fields.inter_digit_timeout_seconds,
            max_tries=fields.max_tries,
            no_input_prompt=fields.no_input_prompt,
            invalid_prompt=fields.invalid_prompt,
            barge_in=fields.barge_in,
            on_max_tries=on_max_tries,
        )

    def hotkeys(self, value: object) -> dict[str, tuple[Action, ...]]:
        if not isinstance(value, dict):
            self.report("hotkeys", "must map key sequences to actions, e.g. '*0': {notify: {event: x}}")
            return {}
        hotkeys: dict[str, tuple[Action, ...]] = {}
        for key, actions in value.items():
            where = f"hotkey {key!r}"
            sequence = str(key).upper()
            bad = next((char for char in str(key) if char.upper() not in DTMF_KEYS), None)
            parsed = self.actions(where, actions)
            if not sequence or len(sequence) > MAX_HOTKEY_LENGTH:
                self.report(where, f"a hotkey is 1 to {MAX_HOTKEY_LENGTH} keys")
            elif bad is not None:
                self.report(where, f"{bad!r} is not a DTMF key (0-9, A-D, * or #)")
            elif sequence in hotkeys:
                self.report(where, "is given twice")
            else:
                if any(isinstance(action, Confirm) for action in parsed):
                    self.report(where, "confirm only works inside a menu: it answers the menu's question")
                hotkeys[sequence] = parsed
        for sequence in hotkeys:
            longer = sorted(other for other in hotkeys if other != sequence and other.startswith(sequence))
            if longer:
                self.report(
                    f"hotkey {sequence!r}",
                    f"is the start of hotkey {longer[0]!r}, which could then never be pressed",
                )
        return hotkeys

    def gotos(self, menus: Mapping[str, Menu], hotkeys: Mapping[str, tuple[Action, ...]]) -> None:
        known = ", ".join(sorted(menus)) or "none"
        places: list[tuple[str, str | None, tuple[Action, ...]]] = []
        for menu in menus.values():
            for key, acts in menu.options.items():
                places.append((f"menu {menu.name!r}, option {key!r}", None, acts))
            places.append((f"menu {menu.name!r}, onMaxTries", menu.name, menu.on_max_tries))
        places += [(f"hotkey {key!r}", None, acts) for key, acts in hotkeys.items()]
        for where, exhausted, actions in places:
            for action in actions:
                if not isinstance(action, Goto):
                    continue
                if action.menu not in menus:
                    self.report(where, f"goto target {action.menu!r} is not a menu (menus: {known})")
                elif action.menu == exhausted:
                    self.report(where, f"goto {action.menu!r} returns to the menu whose tries are used up")


def parse_menus(data: object, source: str = "<menus>") -> MenuSet:
    """Check already-parsed YAML data; raise MenuFileError naming every problem in one line."""
    checker = _Checker()
    if data is None:
        raise MenuFileError(f"{source}: the file is empty: it needs 'menus:' and/or 'hotkeys:'")
    if not isinstance(data, dict):
        raise MenuFileError(f"{source}: the file must be a mapping with 'menus:' and/or 'hotkeys:'")
    for key in data:
        if key not in TOP_LEVEL:
            checker.report("", f"unknown top-level key {key!r}{suggest(key, TOP_LEVEL)}")
    raw_menus = data.get("menus") or {}
    menus: dict[str, Menu] = {}
    if not isinstance(raw_menus, dict):
        checker.report("menus", "must map menu names to menus")
    else:
        for name, value in raw_menus.items():
            menu = checker.menu(str(name), value)
            if menu is not None:
                menus[menu.name] = menu
    hotkeys = checker.hotkeys(data["hotkeys"]) if data.get("hotkeys") is not None else {}
    if not raw_menus and not hotkeys and not checker.problems:
        checker.report("", "defines no menus and no hotkeys")
    checker.gotos(menus, hotkeys)
    if checker.problems:
        raise MenuFileError(f"{source}: " + "; ".join(checker.problems))
    return MenuSet(menus=menus, hotkeys=hotkeys, source=source)


def _yaml(text: str, source: str) -> object:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506  (_Loader is a yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        place = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = exc.problem or str(exc)
        if "alias" in problem:
            # `*0:` unquoted is a YAML alias, not the keys * and 0.
            problem += ' (quote keys that start with * or #, e.g. "*0")'
        raise MenuFileError(f"{source}: {place}invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise MenuFileError(f"{source}: invalid YAML: {exc}") from None


def parse_menus_text(text: str, source: str = "<menus>") -> MenuSet:
    return parse_menus(_yaml(text, source), source)


def _read(path: Path | str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MenuFileError(f"{path}: cannot read the menu file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MenuFileError(f"{path}: the menu file is not UTF-8 text") from None


def load_menus(path: Path | str) -> MenuSet:
    """Read and check one menu file; MenuFileError (one line, naming the file) when it is unusable."""
    return parse_menus_text(_read(path), str(path))


def load_menus_over(base: Path | str, path: Path | str | None) -> MenuSet:
    """The menus of ``base`` (the packaged ones) with those of the file ``path`` added.

    A menu or hotkey of ``path`` with the name of one in ``base`` replaces it. Checks (goto
    targets included) run on the whole, so a custom menu may go to a packaged one; problems
    are reported against ``path``."""
    if path is None:
        return load_menus(base)
    source = str(path)
    custom = _yaml(_read(path), source)
    if not isinstance(custom, dict) or not (custom.get("menus") or custom.get("hotkeys")):
        # Let the checks of the file alone say what is wrong with it (empty, not a mapping...).
        parse_menus(custom, source)
    assert isinstance(custom, dict)
    packaged = _yaml(_read(base), str(base))
    assert isinstance(packaged, dict), f"{base} is not a menu file"
    merged: dict[str, Any] = dict(custom)
    for section in TOP_LEVEL:
        ours, theirs = packaged.get(section) or {}, custom.get(section)
        merged[section] = {**ours, **theirs} if isinstance(theirs, dict) else (theirs or ours)
    return parse_menus(merged, source)
