"""Start-up checks across handlers: a menu a handler names must exist, and text prompts need an
AI services endpoint; audio-file prompts need none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.checks import SpeechConfigurationError, check_references, check_speech
from bot.plugins import PluginError, handler_configs, instantiate
from config.settings import Settings
from handlers.dialout import DialOutHandler
from handlers.end_call import EndCallHandler
from handlers.menus import MenusHandler

AUDIO = "https://media.example/prompt.wav"
AUDIO_CONFIRM = f"""
menus:
  interpreter-confirm:
    prompt: {{audioUrl: "{AUDIO}"}}
    options: {{"1": {{confirm: true}}, "2": {{confirm: false}}}}
    onMaxTries: {{confirm: false}}
"""


def loaded(settings: Settings, **factories: Any) -> Any:
    return instantiate(factories, handler_configs(factories, settings))


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_a_confirmation_menu_that_does_not_exist_is_named() -> None:
    handlers = loaded(
        settings(handlers={"dialout": {"confirm_menu": "nope"}}), dialout=DialOutHandler, menus=MenusHandler
    )
    with pytest.raises(
        PluginError, match=r"confirm_menu: menu 'nope' does not exist \(menus: interpreter-confirm\)"
    ):
        check_references(handlers)


def test_a_dial_out_without_the_menus_handler_is_refused() -> None:
    with pytest.raises(PluginError, match="no loaded handler provides menus"):
        check_references(loaded(settings(), dialout=DialOutHandler))


def test_the_packaged_menus_and_the_default_warning_need_ai_services() -> None:
    handlers = loaded(settings(), menus=MenusHandler, end_call=EndCallHandler)
    with pytest.raises(SpeechConfigurationError) as refused:
        check_speech(handlers, settings())
    message = str(refused.value)
    assert "ROOMBOT_COGNITIVE_SERVICES_ENDPOINT is not set" in message
    assert "menu 'interpreter-confirm' prompt" in message
    assert "end_call" in message
    check_speech(handlers, settings(cognitive_services_endpoint="https://ai.example/"))


def test_audio_file_prompts_need_no_ai_services(tmp_path: Path) -> None:
    menus = tmp_path / "menus.yaml"
    menus.write_text(AUDIO_CONFIRM)
    configured = settings(menus_file=menus, handlers={"end_call": {"warning": {"audioUrl": AUDIO}}})
    handlers = loaded(configured, menus=MenusHandler, end_call=EndCallHandler, dialout=DialOutHandler)

    check_references(handlers)
    check_speech(handlers, configured)


def test_a_text_prompt_of_a_custom_menu_is_named(tmp_path: Path) -> None:
    menus = tmp_path / "menus.yaml"
    menus.write_text(
        AUDIO_CONFIRM
        + '  main:\n    prompt: {audioUrl: "'
        + AUDIO
        + '"}\n    options: {"1": {announce: "Hi"}}\n'
    )
    configured = settings(menus_file=menus)
    with pytest.raises(SpeechConfigurationError, match=r"menu 'main' option '1' announce"):
        check_speech(loaded(configured, menus=MenusHandler), configured)
