"""The end-of-session warning's configuration and wording (`end_call`)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.prompts import Prompt
from handlers.end_call import EndCallConfig, spoken_delay


def test_the_default_warning_is_one_minute_before_the_end() -> None:
    config = EndCallConfig()

    assert config.warning_seconds == 60
    assert config.warning_prompt() == Prompt(text="This session ends in one minute.")


@pytest.mark.parametrize(
    ("seconds", "spoken"),
    [
        (1, "one second"),
        (45, "45 seconds"),
        (60, "one minute"),
        (90, "one minute and 30 seconds"),
        (120, "two minutes"),
        (61, "one minute and one second"),
        (900, "15 minutes"),
    ],
)
def test_the_default_wording_follows_the_delay(seconds: int, spoken: str) -> None:
    assert spoken_delay(seconds) == spoken
    assert EndCallConfig(warning_seconds=seconds).warning_prompt().text == f"This session ends in {spoken}."


def test_a_configured_warning_is_said_as_given() -> None:
    text = EndCallConfig.model_validate({"warning": "Five minutes left."})
    audio = EndCallConfig.model_validate({"warning": {"audioUrl": "https://example.com/bell.wav"}})

    assert text.warning_prompt() == Prompt(text="Five minutes left.")
    assert audio.warning_prompt().kind == "file"


@pytest.mark.parametrize(
    "config",
    [{"warning_seconds": -1}, {"warning": {"text": "a", "ssml": "<speak/>"}}, {"warning": ""}],
)
def test_a_bad_warning_config_is_refused(config: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        EndCallConfig.model_validate(config)
