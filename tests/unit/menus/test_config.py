"""Menu files: the SPEC format loads with its defaults, and every kind of mistake is named in one
line with the file, the menu, the key or field, and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.plugins import PluginError, handler_configs, instantiate
from config.menus.load import load_menus, load_menus_over, parse_menus_text
from config.menus.model import (
    DEFAULT_MENUS_FILE,
    ActionRef,
    Announce,
    AnnounceToEveryone,
    Confirm,
    DialOut,
    EndForEveryone,
    Goto,
    MenuFileError,
    Notify,
    RemoveParticipant,
)
from config.prompts import Prompt
from config.settings import Settings
from handlers.menus.handler import MenusConfig, MenusHandler

SPEC_EXAMPLE = """
menus:
  interpreter-confirm:
    prompt: "Press 1 to accept this interpreting request, or 2 to decline."
    options:
      "1": [{announce: "Connecting you now."}, {confirm: true}]
      "2": [{announce: "Goodbye."}, {confirm: false}]
    maxDigits: 1
    stopTones: ["#"]
    firstDigitTimeoutSeconds: 8
    interDigitTimeoutSeconds: 2
    maxTries: 3
    noInputPrompt: "We did not hear a key."
    invalidPrompt: "That key is not an option."
    bargeIn: true
    onMaxTries: [{announce: "Goodbye."}, {removeParticipant: true}]
hotkeys:
  "*0": [{notify: {event: operator-requested}}]
"""


def error_of(text: str, source: str = "menus.yaml") -> str:
    with pytest.raises(MenuFileError) as failed:
        parse_menus_text(text, source)
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(f"{source}: ")
    return message


def one_menu(body: str) -> str:
    """A file with menu 'main' whose lines are ``body`` (indented by the caller's YAML)."""
    return "menus:\n  main:\n" + "".join(f"    {line}\n" for line in body.strip().splitlines())


def test_the_spec_example_loads_as_written() -> None:
    menus = parse_menus_text(SPEC_EXAMPLE)
    menu = menus["interpreter-confirm"]
    assert menu.prompt == Prompt(text="Press 1 to accept this interpreting request, or 2 to decline.")
    assert menu.options["1"] == (Announce(prompt=Prompt(text="Connecting you now.")), Confirm(confirmed=True))
    assert menu.options["2"][1] == Confirm(confirmed=False)
    assert (menu.max_digits, menu.stop_tones, menu.max_tries, menu.barge_in) == (1, ("#",), 3, True)
    assert (menu.first_digit_timeout, menu.inter_digit_timeout) == (8, 2)
    assert menu.no_input_prompt == Prompt(text="We did not hear a key.")
    assert menu.on_max_tries == (Announce(prompt=Prompt(text="Goodbye.")), RemoveParticipant())
    assert menus.hotkeys == {"*0": (Notify(event="operator-requested"),)}


def test_defaults_are_the_specs() -> None:
    menus = parse_menus_text(one_menu('prompt: Hello\noptions: {"1": {announce: Hi}}'))
    menu = menus["main"]
    assert (menu.max_digits, menu.first_digit_timeout, menu.inter_digit_timeout) == (1, 5, 2)
    assert (menu.max_tries, menu.barge_in, menu.stop_tones, menu.on_max_tries) == (3, True, (), ())
    assert menu.no_input_prompt is None
    assert menu.invalid_prompt is None
    # One action alone needs no list.
    assert menu.options["1"] == (Announce(prompt=Prompt(text="Hi")),)
    assert menus.hotkeys == {}


def test_every_action_and_prompt_form_loads() -> None:
    menus = parse_menus_text(
        """
menus:
  main:
    prompt: {ssml: "<speak>Hello</speak>"}
    options:
      "1": {goto: other}
      "2": {announceToEveryone: {audioUrl: "https://example.com/a.wav"}}
      "3": {dialout: {phoneNumber: "+1 425 555 0123", ringTimeoutSeconds: 30, confirmWithDtmf: true}}
      "4": {endForEveryone: true}
      "5": {notify: {event: picked, priority: high}}
      "6": {notify: shorthand}
  other:
    prompt: Other
    options: {"1": {removeParticipant: true}}
"""
    )
    options = menus["main"].options
    assert options["1"] == (Goto(menu="other"),)
    assert options["2"] == (AnnounceToEveryone(prompt=Prompt(audio_url="https://example.com/a.wav")),)
    # Numbers are normalized to E.164.
    assert options["3"] == (
        DialOut(phone_number="+14255550123", ring_timeout_seconds=30, confirm_with_dtmf=True),
    )
    assert options["4"] == (EndForEveryone(),)
    assert options["5"] == (Notify(event="picked", fields={"priority": "high"}),)
    assert options["6"] == (Notify(event="shorthand"),)
    assert menus.actions_at(ActionRef("option", "other", "1")) == (RemoveParticipant(),)


def test_keys_are_read_as_written_even_unquoted() -> None:
    # YAML alone would read 01 as the number 1 and lose the leading zero.
    menus = parse_menus_text(
        one_menu("prompt: Hi\nmaxDigits: 2\noptions: {01: {announce: a}, 1: {announce: b}}")
    )
    assert set(menus["main"].options) == {"01", "1"}


def test_a_trailing_stop_tone_in_an_option_is_not_part_of_the_entry() -> None:
    menus = parse_menus_text(
        one_menu(
            'prompt: Hi\nmaxDigits: 4\nstopTones: ["#"]\n'
            'options: {"1234#": {announce: a}, "a": {announce: b}}'
        )
    )
    assert set(menus["main"].options) == {"1234", "A"}
    assert menus["main"].entry("1234#") == "1234"


def test_the_packaged_default_has_the_interpreter_confirmation() -> None:
    menu = load_menus(DEFAULT_MENUS_FILE)["interpreter-confirm"]
    assert Confirm(confirmed=True) in menu.options["1"]
    assert Confirm(confirmed=False) in menu.options["2"]


# One test per kind of mistake; each message is checked.


def test_goto_to_a_missing_menu() -> None:
    text = one_menu('prompt: Hi\noptions: {"9": {goto: nope}}')
    assert (
        error_of(text)
        == "menus.yaml: menu 'main', option '9': goto target 'nope' is not a menu (menus: main)"
    )


def test_goto_back_to_an_exhausted_menu_from_on_max_tries() -> None:
    text = one_menu('prompt: Hi\noptions: {"1": {announce: a}}\nonMaxTries: {goto: main}')
    assert error_of(text).endswith(
        "menu 'main', onMaxTries: goto 'main' returns to the menu whose tries are used up"
    )


def test_a_misspelt_field_is_named_with_a_suggestion() -> None:
    text = one_menu('prompt: Hi\nmaxDigit: 2\noptions: {"1": {announce: a}}')
    assert error_of(text) == "menus.yaml: menu 'main': unknown field 'maxDigit'; did you mean 'maxDigits'?"


def test_a_misspelt_action_is_named_with_a_suggestion() -> None:
    text = one_menu('prompt: Hi\noptions: {"1": [{anounce: a}]}')
    assert error_of(text).endswith(
        "menu 'main', option '1': unknown action 'anounce'; did you mean 'announce'?"
    )


def test_unknown_fields_inside_actions_and_prompts() -> None:
    text = one_menu(
        'prompt: Hi\noptions: {"1": {dialout: {phoneNumber: "+14255550123", ring: 3}}, '
        '"2": {announce: {txt: a}}}'
    )
    message = error_of(text)
    assert "menu 'main', option '1' (dialout): unknown field 'ring'" in message
    assert "menu 'main', option '2' (announce): unknown field 'txt'" in message


def test_first_digit_timeout_outside_acs_limits() -> None:
    text = one_menu('prompt: Hi\nfirstDigitTimeoutSeconds: 301\noptions: {"1": {announce: a}}')
    assert error_of(text) == (
        "menus.yaml: menu 'main': field 'firstDigitTimeoutSeconds': 301 is out of range: "
        "it must be between 1 and 300 seconds (ACS's initial silence timeout)"
    )


def test_inter_digit_timeout_outside_acs_limits() -> None:
    text = one_menu('prompt: Hi\ninterDigitTimeoutSeconds: 0\noptions: {"1": {announce: a}}')
    assert "field 'interDigitTimeoutSeconds': 0 is out of range: it must be between 1 and 60" in error_of(
        text
    )


def test_max_digits_and_max_tries_bounds() -> None:
    text = one_menu('prompt: Hi\nmaxDigits: 0\nmaxTries: 11\noptions: {"1": {announce: a}}')
    message = error_of(text)
    assert "field 'maxDigits': 0 is out of range: it must be between 1 and 20 keys" in message
    assert "field 'maxTries': 11 is out of range: it must be between 1 and 10 tries" in message


def test_an_option_longer_than_max_digits() -> None:
    text = one_menu('prompt: Hi\noptions: {"12": {announce: a}}')
    assert error_of(text) == "menus.yaml: menu 'main', option '12': has 2 keys, more than maxDigits (1)"


def test_an_option_that_is_no_dtmf_key() -> None:
    text = one_menu('prompt: Hi\noptions: {"x": {announce: a}}')
    assert error_of(text).endswith("option 'x': 'x' is not a DTMF key (0-9, A-D, * or #)")


def test_a_stop_tone_inside_an_option() -> None:
    text = one_menu(
        'prompt: Hi\nmaxDigits: 3\nstopTones: ["#"]\noptions: {"1#2": {announce: a}, "#": {announce: b}}'
    )
    message = error_of(text)
    assert "option '1#2': '#' is a stop tone and would end the entry before the last key" in message
    assert "option '#': '#' is a stop tone: it ends an entry and is not part of one" in message


def test_two_options_for_the_same_entry() -> None:
    text = one_menu(
        'prompt: Hi\nmaxDigits: 2\nstopTones: ["#"]\noptions: {"12": {announce: a}, "12#": {announce: b}}'
    )
    assert error_of(text).endswith("option '12#': is the same entry as option '12'")


def test_a_duplicate_yaml_key_is_refused() -> None:
    text = (
        'menus:\n  main:\n    prompt: Hi\n    options:\n      "1": {announce: a}\n      "1": {announce: b}\n'
    )
    assert error_of(text) == "menus.yaml: line 6, column 7: invalid YAML: duplicate key '1'"


def test_an_unquoted_star_hotkey_gets_a_hint() -> None:
    message = error_of("hotkeys:\n  *0: {notify: x}\n")
    assert "line 2, column 3: invalid YAML" in message
    assert 'quote keys that start with * or #, e.g. "*0"' in message


def test_a_dialout_number_that_is_not_e164() -> None:
    text = one_menu('prompt: Hi\noptions: {"1": {dialout: {phoneNumber: "4255550123"}}}')
    assert error_of(text) == (
        "menus.yaml: menu 'main', option '1' (dialout): field 'phoneNumber': "
        "'4255550123' is not an E.164 number: write it with + and the country code"
    )


def test_a_dialout_number_that_does_not_exist() -> None:
    text = one_menu('prompt: Hi\noptions: {"1": {dialout: {phoneNumber: "+1555"}}}')
    assert "field 'phoneNumber': '+1555' is not a valid E.164 phone number" in error_of(text)


def test_a_prompt_with_two_kinds() -> None:
    text = one_menu('prompt: {text: a, ssml: b}\noptions: {"1": {announce: a}}')
    assert (
        error_of(text) == "menus.yaml: menu 'main': field 'prompt': give exactly one of text, ssml, audioUrl"
    )


def test_a_missing_prompt_and_missing_options() -> None:
    message = error_of(one_menu("maxTries: 2"))
    assert "menu 'main': field 'prompt' is required" in message
    assert "menu 'main': field 'options' is required" in message


def test_actions_after_one_that_leaves_the_menu() -> None:
    text = one_menu('prompt: Hi\noptions: {"1": [{removeParticipant: true}, {announce: late}]}')
    assert error_of(text).endswith(
        "option '1', action 2: nothing can follow 'removeParticipant': it leaves the menu"
    )


def test_flags_take_true_and_confirm_takes_a_boolean() -> None:
    text = one_menu('prompt: Hi\noptions: {"1": {endForEveryone: false}, "2": {confirm: "yes"}}')
    message = error_of(text)
    assert "option '1' (endForEveryone): endForEveryone takes true, not false" in message
    assert "option '2' (confirm): confirm takes true or false, not \"yes\"" in message


def test_an_action_with_two_keys() -> None:
    text = one_menu('prompt: Hi\noptions: {"1": {announce: a, confirm: true}}')
    assert "an action has exactly one key, this one has 'announce', 'confirm': write a list" in error_of(text)


def test_notify_cannot_override_the_bots_fields() -> None:
    text = one_menu('prompt: Hi\noptions: {"1": {notify: {event: e, sessionId: x}}}')
    assert error_of(text).endswith("(notify): field 'sessionId' is set by the bot and cannot be given")


def test_a_hotkey_that_starts_another_and_a_confirm_outside_a_menu() -> None:
    message = error_of('hotkeys:\n  "*": {notify: a}\n  "*0": {confirm: true}\n')
    assert "hotkey '*': is the start of hotkey '*0', which could then never be pressed" in message
    assert "hotkey '*0': confirm only works inside a menu" in message


def test_unknown_top_level_key_and_empty_files() -> None:
    assert error_of("menu: {}\n") == "menus.yaml: unknown top-level key 'menu'; did you mean 'menus'?"
    assert error_of("") == "menus.yaml: the file is empty: it needs 'menus:' and/or 'hotkeys:'"
    assert error_of("menus: {}\n") == "menus.yaml: defines no menus and no hotkeys"
    assert error_of("- a\n") == "menus.yaml: the file must be a mapping with 'menus:' and/or 'hotkeys:'"


def test_a_bad_menu_name() -> None:
    text = 'menus:\n  "my menu":\n    prompt: Hi\n    options: {"1": {announce: a}}\n'
    assert (
        error_of(text)
        == "menus.yaml: menu 'my menu': a menu name is 1 to 64 letters, digits, '-', '_' or '.'"
    )


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = one_menu('prompt: {text: a, ssml: b}\noptions: {"9": {goto: nope}, "x": {announce: a}}')
    message = error_of(text)
    assert message.count(";") == 1 + message.count("did you mean")
    assert "field 'prompt'" in message
    assert "option 'x'" in message


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(MenuFileError, match=rf"^{missing}: cannot read the menu file: No such file"):
        load_menus(missing)


def test_a_bad_file_stops_the_bot_with_the_line(tmp_path: Path) -> None:
    menus_file = tmp_path / "menus.yaml"
    menus_file.write_text(one_menu('prompt: Hi\noptions: {"9": {goto: lang}}'))
    settings = Settings(_env_file=None, menus_file=menus_file)
    factories = {"menus": MenusHandler}
    with pytest.raises(PluginError) as failed:
        instantiate(factories, handler_configs(factories, settings))
    assert (
        str(failed.value) == f"{menus_file}: menu 'main', option '9': goto target 'lang' is not a menu "
        "(menus: interpreter-confirm, main)"
    )


def test_the_menus_file_setting_and_the_handler_config(tmp_path: Path) -> None:
    from_setting = tmp_path / "setting.yaml"
    from_setting.write_text(one_menu('prompt: Hi\noptions: {"1": {announce: a}}'))
    factories = {"menus": MenusHandler}
    settings = Settings(_env_file=None, menus_file=from_setting)
    handlers = instantiate(factories, handler_configs(factories, settings))
    handler = handlers.get("menus")
    assert isinstance(handler, MenusHandler)
    # The file adds to the packaged menus: dial-outs still find their confirmation menu.
    assert sorted(handler.menus.menus) == ["interpreter-confirm", "main"]
    assert handler.menus.source == str(from_setting)
    # Without the setting the packaged default is used.
    default = MenusHandler(MenusConfig())
    assert "interpreter-confirm" in default.menus


def test_the_handler_config_wins_over_the_setting(tmp_path: Path) -> None:
    from_setting = tmp_path / "setting.yaml"
    from_setting.write_text(one_menu('prompt: Hi\noptions: {"1": {announce: a}}'))
    from_config = tmp_path / "config.yaml"
    from_config.write_text("menus:\n  other:\n    prompt: Hi\n    options: {'1': {announce: a}}\n")
    settings = Settings(
        _env_file=None, menus_file=from_setting, handlers={"menus": {"menus_file": str(from_config)}}
    )
    factories = {"menus": MenusHandler}
    handler = instantiate(factories, handler_configs(factories, settings)).get("menus")
    assert isinstance(handler, MenusHandler)
    assert sorted(handler.menus.menus) == ["interpreter-confirm", "other"]


def test_a_custom_menu_of_a_packaged_name_replaces_it_and_may_go_to_packaged_ones(tmp_path: Path) -> None:
    custom = tmp_path / "menus.yaml"
    custom.write_text(
        "menus:\n"
        "  interpreter-confirm:\n"
        "    prompt: {audioUrl: 'https://media.example/confirm.wav'}\n"
        "    options: {'1': {confirm: true}, '0': {goto: main}}\n"
        "  main:\n"
        "    prompt: Hi\n"
        "    options: {'1': {goto: interpreter-confirm}}\n"
    )
    menus = load_menus_over(DEFAULT_MENUS_FILE, custom)
    assert sorted(menus.menus) == ["interpreter-confirm", "main"]
    replaced = menus["interpreter-confirm"]
    assert replaced.prompt.kind == "file"
    assert sorted(replaced.options) == ["0", "1"]
    assert menus.source == str(custom)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("menus: {}\n", "defines no menus and no hotkeys"),
        ("- a list\n", "must be a mapping"),
        ("menu:\n  main: {prompt: Hi, options: {'1': {confirm: true}}}\n", "unknown top-level key 'menu'"),
    ],
    ids=["empty", "no-menus", "a-list", "typo"],
)
def test_a_custom_file_is_still_checked_on_its_own(tmp_path: Path, text: str, problem: str) -> None:
    custom = tmp_path / "menus.yaml"
    custom.write_text(text)
    with pytest.raises(MenuFileError, match=rf"^{custom}: .*{problem}"):
        load_menus_over(DEFAULT_MENUS_FILE, custom)
