"""The menu engine: transitions for each kind of input, and properties over random menus."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.menus.load import parse_menus_text
from config.menus.model import (
    Action,
    ActionRef,
    Announce,
    Confirm,
    Goto,
    Menu,
    MenuSet,
    Notify,
    RemoveParticipant,
)
from config.prompts import Prompt
from handlers.menus import engine
from handlers.menus.engine import (
    MAX_INTERRUPTIONS,
    Act,
    Cancel,
    Collect,
    End,
    Hangup,
    InterDigitTimeout,
    Interrupted,
    Keys,
    NoInput,
    PromptFailed,
    Session,
    Step,
)

HELLO = Prompt(text="Press 1 for English, 2 for French.")
NO_INPUT = Prompt(text="We did not hear a key.")
INVALID = Prompt(text="That key is not an option.")


def menu(name: str, options: dict[str, tuple[Action, ...]], **fields: Any) -> Menu:
    return Menu(name=name, prompt=Prompt(text=f"menu {name}"), options=options, **fields)


def lang_menus() -> MenuSet:
    main = Menu(
        name="main",
        prompt=HELLO,
        options={
            "1": (Announce(prompt=Prompt(text="English.")), Confirm(confirmed=True)),
            "2": (Goto(menu="french"),),
            "9": (Notify(event="help"), Goto(menu="main")),
        },
        first_digit_timeout=8,
        inter_digit_timeout=3,
        max_tries=3,
        no_input_prompt=NO_INPUT,
        invalid_prompt=INVALID,
        on_max_tries=(Announce(prompt=Prompt(text="Goodbye.")), RemoveParticipant()),
    )
    french = menu("french", {"1": (Confirm(confirmed=True),), "0": (Goto(menu="main"),)}, max_tries=2)
    pin = menu("pin", {"1234": (Notify(event="pin-ok"),)}, max_digits=4, stop_tones=("#",))
    return MenuSet(menus={"main": main, "french": french, "pin": pin})


def run(menus: MenuSet, start: str, inputs: Sequence[engine.Input]) -> list[Step]:
    steps = [engine.start(menus, "s1", start)]
    for event in inputs:
        steps.append(engine.advance(menus, steps[-1].session, event))
    return steps


def collects(steps: Sequence[Step]) -> list[Collect]:
    return [effect for step in steps for effect in step.effects if isinstance(effect, Collect)]


def test_start_asks_the_menu_with_its_prompt_and_timeouts() -> None:
    step = engine.start(lang_menus(), "s1", "main")
    assert step.session == Session(id="s1", menu="main", attempt=1)
    assert step.effects == (
        Collect(
            attempt=1,
            menu="main",
            prompts=(HELLO,),
            max_digits=1,
            stop_tones=(),
            first_digit_timeout=8,
            inter_digit_timeout=3,
            barge_in=True,
        ),
    )


def test_start_of_an_unknown_menu() -> None:
    with pytest.raises(KeyError):
        engine.start(lang_menus(), "s1", "nope")


def test_a_valid_key_runs_its_actions_in_order_then_ends() -> None:
    menus = lang_menus()
    step = run(menus, "main", [Keys("1")])[-1]
    ref = ActionRef("option", "main", "1")
    assert step.effects == (
        Act(ref, 0, Announce(prompt=Prompt(text="English."))),
        Act(ref, 1, Confirm(confirmed=True)),
        End("completed"),
    )
    assert step.session.ended == "completed"
    assert step.session.last_entry == "1"


def test_an_invalid_key_says_so_then_asks_again() -> None:
    steps = run(lang_menus(), "main", [Keys("7"), Keys("1")])
    retry = steps[1].effects
    assert len(retry) == 1
    assert isinstance(retry[0], Collect)
    assert retry[0].prompts == (INVALID, HELLO)
    assert retry[0].attempt == 2
    assert steps[1].session.failures == {"main": 1}
    assert steps[2].effects[-1] == End("completed")


def test_no_input_says_so_then_asks_again() -> None:
    retry = run(lang_menus(), "main", [NoInput()])[-1].effects
    assert isinstance(retry[0], Collect)
    assert retry[0].prompts == (NO_INPUT, HELLO)


def test_a_menu_without_reprompts_repeats_its_prompt_alone() -> None:
    retry = run(lang_menus(), "french", [NoInput()])[-1].effects
    assert isinstance(retry[0], Collect)
    assert retry[0].prompts == (Prompt(text="menu french"),)


def test_max_tries_without_input_runs_on_max_tries() -> None:
    steps = run(lang_menus(), "main", [NoInput(), Keys("5"), NoInput()])
    assert len(collects(steps)) == 3
    ref = ActionRef("onMaxTries", "main")
    assert steps[-1].effects == (
        Act(ref, 0, Announce(prompt=Prompt(text="Goodbye."))),
        Act(ref, 1, RemoveParticipant()),
        End("maxTries"),
    )


def test_default_on_max_tries_just_ends() -> None:
    steps = run(lang_menus(), "french", [NoInput(), NoInput()])
    assert steps[-1].effects == (End("maxTries"),)


def test_multi_digit_entry_with_a_stop_tone() -> None:
    steps = run(lang_menus(), "pin", [Keys("1234#")])
    assert steps[-1].effects[0] == Act(ActionRef("option", "pin", "1234"), 0, Notify(event="pin-ok"))
    assert steps[-1].session.last_entry == "1234"


def test_the_inter_digit_timeout_keeps_the_keys_pressed_so_far() -> None:
    assert run(lang_menus(), "pin", [InterDigitTimeout("1234")])[-1].session.ended == "completed"
    # Some keys, but no option: an invalid entry.
    step = run(lang_menus(), "pin", [InterDigitTimeout("12")])[-1]
    assert step.session.reprompt == "invalid"
    # No key at all: no input.
    step = run(lang_menus(), "pin", [InterDigitTimeout("")])[-1]
    assert step.session.reprompt == "noInput"


def test_goto_asks_the_next_menu() -> None:
    step = run(lang_menus(), "main", [Keys("2")])[-1]
    assert step.session.menu == "french"
    assert step.session.ended is None
    assert len(step.effects) == 1
    assert isinstance(step.effects[0], Collect)
    assert step.effects[0].menu == "french"
    assert step.effects[0].prompts == (Prompt(text="menu french"),)
    assert step.effects[0].attempt == 2


def test_actions_before_a_goto_run_first() -> None:
    step = run(lang_menus(), "main", [Keys("9")])[-1]
    assert [type(effect) for effect in step.effects] == [Act, Collect]
    assert step.session.menu == "main"


def test_failed_tries_stay_counted_per_menu_across_goto() -> None:
    # One failure in main, over to french and back: main has two tries left, not three.
    steps = run(lang_menus(), "main", [NoInput(), Keys("2"), Keys("0"), NoInput(), NoInput()])
    assert steps[-1].session.failures == {"main": 3}
    assert steps[-1].effects[-1] == End("maxTries")


def test_reaching_a_menu_whose_tries_are_used_up_ends_the_session() -> None:
    menus = MenuSet(
        menus={
            "a": menu("a", {"1": (Goto(menu="b"),)}, max_tries=1, on_max_tries=(Goto(menu="b"),)),
            "b": menu("b", {"1": (Goto(menu="a"),)}, max_tries=1, on_max_tries=(Goto(menu="a"),)),
        }
    )
    steps = run(menus, "a", [NoInput(), NoInput()])
    assert steps[-1].effects == (End("maxTries"),)
    assert len(collects(steps)) == 2


def test_an_interrupted_try_is_asked_again_without_costing_a_try() -> None:
    steps = run(lang_menus(), "main", [NoInput(), Interrupted()])
    again = steps[-1].effects[0]
    assert isinstance(again, Collect)
    assert again.prompts == (NO_INPUT, HELLO)
    assert again.attempt == 3
    assert steps[-1].session.failures == {"main": 1}


def test_too_many_interruptions_cancel_the_session() -> None:
    steps = run(lang_menus(), "main", [Interrupted()] * (MAX_INTERRUPTIONS + 1))
    assert steps[-1].effects == (End("cancelled"),)


@pytest.mark.parametrize(
    ("event", "reason"),
    [(Hangup(), "hangup"), (Cancel(), "cancelled"), (PromptFailed(), "failed")],
)
def test_endings_without_actions(event: engine.Input, reason: engine.EndReason) -> None:
    step = run(lang_menus(), "main", [event])[-1]
    assert step.effects == (End(reason),)
    assert step.session.ended == reason


def test_an_ended_session_ignores_everything() -> None:
    steps = run(lang_menus(), "main", [Keys("1"), Keys("1"), NoInput(), Hangup()])
    assert [step.effects for step in steps[2:]] == [(), (), ()]
    assert steps[-1].session == steps[1].session


def test_sessions_and_effects_survive_json() -> None:
    menus = lang_menus()
    for step in run(menus, "main", [NoInput(), Keys("9"), Keys("1")]):
        assert Session.from_json(step.session.to_json()) == step.session
        for effect in step.effects:
            assert engine.effect_from_json(menus, step.session, engine.effect_to_json(effect)) == effect


def test_a_stored_effect_the_menu_file_no_longer_has() -> None:
    session = Session(id="s1", menu="main", attempt=1)
    with pytest.raises(KeyError):
        engine.effect_from_json(lang_menus(), session, {"act": ["option", "gone", "1"], "index": 0})
    with pytest.raises(ValueError, match="not the session's try"):
        engine.effect_from_json(lang_menus(), session, {"collect": 7})


# Properties over random menu sets and random callers.

NAMES = ("a", "b", "c")
KEYS = "0123456789*#"


@st.composite
def menu_sets(draw: st.DrawFn) -> MenuSet:
    count = draw(st.integers(1, len(NAMES)))
    names = NAMES[:count]
    menus: dict[str, Menu] = {}
    for name in names:
        max_digits = draw(st.integers(1, 3))
        keys = draw(
            st.lists(st.text("0123456789*", min_size=1, max_size=max_digits), max_size=4, unique=True)
        )
        options: dict[str, tuple[Action, ...]] = {}
        for key in keys:
            actions: list[Action] = draw(
                st.lists(st.sampled_from([Announce(prompt=Prompt(text="ok")), Notify(event="e")]), max_size=2)
            )
            target = draw(st.none() | st.sampled_from(names))
            options[key] = (*actions, Goto(menu=target)) if target else (*actions, Confirm(confirmed=True))
        others = [other for other in names if other != name]
        on_max: tuple[Action, ...] = draw(
            st.sampled_from([(), (RemoveParticipant(),), *[(Goto(menu=other),) for other in others]])
        )
        menus[name] = menu(
            name,
            options,
            max_digits=max_digits,
            stop_tones=("#",),
            max_tries=draw(st.integers(1, 4)),
            on_max_tries=on_max,
        )
    return MenuSet(menus=menus)


inputs = st.one_of(
    st.builds(Keys, st.text(KEYS, max_size=4)),
    st.just(NoInput()),
    st.builds(InterDigitTimeout, st.text(KEYS, max_size=3)),
    st.just(Interrupted()),
)
failures_only = st.one_of(st.just(NoInput()), st.just(InterDigitTimeout("")), st.builds(Keys, st.just("?")))


@settings(max_examples=300, deadline=None)
@given(menus=menu_sets(), events=st.lists(inputs, max_size=40), data=st.data())
def test_every_step_keeps_the_engines_promises(
    menus: MenuSet, events: list[engine.Input], data: st.DataObject
) -> None:
    start = data.draw(st.sampled_from(sorted(menus.menus)))
    steps = run(menus, start, events)
    for before, after in itertools.pairwise(steps):
        session = after.session
        # A menu never gets more failed tries than it allows.
        for name, failed in session.failures.items():
            assert failed <= menus[name].max_tries
        if before.session.ended is not None:
            assert after.effects == ()
            assert session == before.session
            continue
        kinds = [type(effect) for effect in after.effects]
        # Actions first; then exactly one of: ask again, or end.
        assert kinds.count(Collect) + kinds.count(End) == 1
        assert all(kind is Act for kind in kinds[:-1])
        last = after.effects[-1]
        if isinstance(last, Collect):
            assert session.ended is None
            assert last.attempt == session.attempt == before.session.attempt + 1
            assert last.menu == session.menu
            assert last.prompts[-1] == menus[session.menu].prompt
        else:
            assert isinstance(last, End)
            assert session.ended == last.reason
        assert not any(
            isinstance(effect, Act) and isinstance(effect.action, Goto) for effect in after.effects
        )


@settings(max_examples=300, deadline=None)
@given(menus=menu_sets(), data=st.data())
def test_without_a_valid_entry_every_session_ends(menus: MenuSet, data: st.DataObject) -> None:
    session = engine.start(menus, "s1", data.draw(st.sampled_from(sorted(menus.menus)))).session
    budget = sum(menu.max_tries for menu in menus.menus.values())
    recognizes = 1
    for _ in range(budget):
        step = engine.advance(menus, session, data.draw(failures_only))
        session = step.session
        if session.ended is not None:
            break
        recognizes += 1
    assert session.ended == "maxTries"
    # Never more recognizes than the menus' tries together.
    assert recognizes <= budget


@pytest.mark.parametrize("entered", [Keys("1"), Keys("1#"), InterDigitTimeout("1")])
def test_an_option_written_with_its_stop_tone_matches_the_keys_pressed(entered: engine.Input) -> None:
    # "1#" reads as "press 1 then #": the loader keeps the entry "1", and ACS reports the keys
    # without the stop tone (or, were it kept, `Menu.entry` drops it); 1 alone then a pause is 1 too.
    menus = parse_menus_text(
        'menus:\n  pin:\n    prompt: Hi\n    maxDigits: 2\n    stopTones: ["#"]\n'
        '    options: {"1#": {notify: one}, "2": {notify: two}}\n'
    )

    step = run(menus, "pin", [entered])[-1]

    assert step.effects[0] == Act(ActionRef("option", "pin", "1"), 0, Notify(event="one"))
    assert step.session.last_entry == "1"
