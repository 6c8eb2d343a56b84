"""Handler discovery through the `roombot.handlers` entry points, and start-up validation.

Third-party plugins are real installed distributions here: a `*.dist-info` directory with an
`entry_points.txt` and a module, put on `sys.path` for the test, read by `importlib.metadata`.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp import web
from pydantic import BaseModel

from bot.app import create_app
from bot.handlers import BaseHandler, Handler, HandlerFactory
from bot.plugins import ENTRY_POINT_GROUP, PluginError, discover, instantiate
from bot.testing import IsolatedSettings
from handlers.end_call import EndCallConfig, EndCallHandler

PLUGIN_MODULE = """
from typing import ClassVar
from pydantic import BaseModel
from bot.handlers import BaseHandler

class Config(BaseModel):
    pass

class Alpha(BaseHandler):
    name: ClassVar[str] = "alpha"
    Config = Config
    def __init__(self, config): self.config = config

class AlphaAgain(Alpha):
    pass

class Beta(Alpha):
    name: ClassVar[str] = "beta"

class Nameless(Alpha):
    name: ClassVar[str] = ""

class NoConfig:
    name = "no-config"
"""

Install = Callable[[Mapping[str, str]], str]


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Install:
    """Install a distribution whose entry points (name -> ``{module}:attr``, ``{module}`` standing
    for the sample module above) are in a fresh group; returns that group."""

    def installed(entries: Mapping[str, str]) -> str:
        module = f"sample_plugins_{uuid.uuid4().hex}"
        group = f"roombot.test_handlers_{uuid.uuid4().hex}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(PLUGIN_MODULE))
        dist_info = tmp_path / f"{module}-1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
        lines = [f"[{group}]"] + [f"{name} = {ref.format(module=module)}" for name, ref in entries.items()]
        (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        return group

    return installed


class Plain(BaseHandler):
    name: ClassVar[str] = "plain"
    Config: ClassVar[type[BaseModel]] = EndCallConfig

    def __init__(self, config: EndCallConfig) -> None:
        self.config = config


class NotAHandler:
    """Has a name and a config but none of the handler methods."""

    name: ClassVar[str] = "not-a-handler"
    Config: ClassVar[type[BaseModel]] = EndCallConfig

    def __init__(self, config: EndCallConfig) -> None:
        self.config = config

    def routes(self) -> Iterable[web.RouteDef]:
        return ()


def test_the_built_in_end_call_is_found_through_its_entry_point() -> None:
    found = discover()

    assert found["end_call"] is EndCallHandler
    assert ENTRY_POINT_GROUP == "roombot.handlers"


def test_third_party_plugins_are_found_by_handler_name(install: Install) -> None:
    group = install({"first": "{module}:Alpha", "second": "{module}:Beta"})

    found = discover(group)

    assert sorted(found) == ["alpha", "beta"]
    assert found["alpha"].name == "alpha"
    assert [handler.name for handler in instantiate(found, {})] == ["alpha", "beta"]


def test_two_plugins_with_one_name_stop_start_up(install: Install) -> None:
    group = install({"first": "{module}:Alpha", "second": "{module}:AlphaAgain"})

    with pytest.raises(PluginError, match="two handler plugins are named 'alpha'"):
        discover(group)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{module}:Missing", "'broken' .* failed to import"),
        ("no_such_module_anywhere:Alpha", "'broken' .* failed to import"),
        ("{module}:Nameless", "'broken' .* has no `name`"),
        ("{module}:NoConfig", "'no-config' has no `Config` model"),
    ],
    ids=["missing-attribute", "missing-module", "no-name", "no-config"],
)
def test_a_broken_plugin_stops_start_up_naming_it(install: Install, value: str, message: str) -> None:
    group = install({"broken": value})

    with pytest.raises(PluginError, match=message):
        discover(group)


def test_instantiate_validates_each_config_and_orders_by_name() -> None:
    factories: dict[str, HandlerFactory] = {"plain": Plain, "end_call": EndCallHandler}

    loaded = instantiate(factories, {"end_call": {"end_at_valid_until": False}})

    assert [handler.name for handler in loaded] == ["end_call", "plain"]
    end_call = loaded.get("end_call")
    assert isinstance(end_call, EndCallHandler)
    assert end_call.config == EndCallConfig(end_at_valid_until=False)
    assert isinstance(loaded.get("plain"), Handler)
    assert loaded.get("absent") is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"end_at_valid_until": "sometimes"}, "handler 'end_call': config field 'end_at_valid_until'"),
        ({"warn_seconds_before": 30, "end_at_valid_until": True}, "config field 'warn_seconds_before'"),
    ],
    ids=["wrong-type", "unknown-field"],
)
def test_an_invalid_handler_config_names_the_handler_and_field(config: dict[str, Any], message: str) -> None:
    with pytest.raises(PluginError, match=message):
        instantiate({"end_call": EndCallHandler}, {"end_call": config})


def test_config_for_an_unknown_handler_is_refused() -> None:
    with pytest.raises(PluginError, match="config given for unknown handler\\(s\\): end_cal, menu"):
        instantiate({"end_call": EndCallHandler}, {"end_cal": {}, "menu": {}})


def test_enabling_a_handler_no_plugin_provides_is_refused() -> None:
    with pytest.raises(PluginError, match="'dialout' is enabled but no plugin provides it"):
        instantiate({"end_call": EndCallHandler}, {}, enabled=["end_call", "dialout"])


def test_a_factory_that_does_not_build_a_handler_is_refused() -> None:
    factories: dict[str, HandlerFactory] = {"not-a-handler": NotAHandler}  # type: ignore[dict-item]  # on purpose

    with pytest.raises(PluginError, match="'not-a-handler' does not implement the Handler protocol"):
        instantiate(factories, {})


def test_create_app_fails_fast_on_a_bad_handler_config() -> None:
    settings = IsolatedSettings(handlers={"end_call": {"end_at_valid_until": "sometimes"}})

    with pytest.raises(PluginError, match="end_at_valid_until"):
        create_app(settings, handler_factories={"end_call": EndCallHandler})
