"""Settings: defaults, validation, the one-line start-up error, and the env/.env path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from config import Settings, format_settings_error, load_settings
from config.environment import unknown_names
from config.settings import DEFAULT_ACS_OPENID_URL, UnknownSettingError, parse_connection_string

KEY = "cm9vbWJvdC1lbXVsYXRvci1kZXZlbG9wbWVudC1hY2Nlc3Mta2V5IQ=="
BACKEND_KEY = "backend-key-0123456789"
OPS_KEY = "ops-key-0123456789abcd"


def make(**values: Any) -> Settings:
    # No .env and no overrides from the developer's shell leak into these tests.
    return Settings(_env_file=None, **values)


def error_line(**values: Any) -> str:
    with pytest.raises(ValidationError) as failed:
        make(**values)
    line = format_settings_error(failed.value)
    assert "\n" not in line
    return line


def test_defaults_match_the_spec() -> None:
    settings = make()
    assert settings.acs_connection_string is None
    assert str(settings.acs_openid_url) == DEFAULT_ACS_OPENID_URL
    assert settings.state_url == "sqlite:///roombot.db"
    assert settings.auto_join is False
    assert (settings.retry_max_attempts, settings.retry_max_seconds) == (5, 30)
    assert (settings.retry_backoff_base, settings.retry_backoff_max) == (0.5, 8)
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.backend_api_keys == set()
    assert settings.handlers == {}
    assert settings.callback_url is None


def test_every_field_is_documented() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undocumented == []


@pytest.mark.parametrize(
    ("connection_string", "endpoint"),
    [
        (f"endpoint=http://127.0.0.1:8081/;accesskey={KEY}", "http://127.0.0.1:8081"),
        (
            f"endpoint=https://res.communication.azure.com/;accesskey={KEY}",
            "https://res.communication.azure.com",
        ),
        (
            f"AccessKey={KEY};Endpoint=https://res.communication.azure.com;",
            "https://res.communication.azure.com",
        ),
    ],
)
def test_the_connection_string_keeps_its_scheme(connection_string: str, endpoint: str) -> None:
    settings = make(acs_connection_string=connection_string)
    assert settings.acs_endpoint_and_key == (endpoint, KEY)
    assert parse_connection_string(connection_string) == (endpoint, KEY)


@pytest.mark.parametrize(
    ("connection_string", "problem"),
    [
        ("nonsense", "must be 'endpoint=<url>;accesskey=<base64 key>'"),
        (f"accesskey={KEY}", "must contain both endpoint"),
        ("endpoint=https://res.communication.azure.com/", "must contain both endpoint"),
        (f"endpoint=res.communication.azure.com;accesskey={KEY}", "http:// or https://"),
        (f"endpoint=ftp://res.example;accesskey={KEY}", "http:// or https://"),
        ("endpoint=https://res.example;accesskey=not base64!", "accesskey must be valid base64"),
    ],
)
def test_a_bad_connection_string_names_the_problem_without_the_key(
    connection_string: str, problem: str
) -> None:
    line = error_line(acs_connection_string=connection_string)
    assert line.startswith("invalid settings: ROOMBOT_ACS_CONNECTION_STRING: ")
    assert problem in line
    assert KEY not in line
    assert "not base64!" not in line


def test_the_caller_id_is_normalised_to_e164() -> None:
    assert make(pstn_caller_id="+1 (425) 555-0123").pstn_caller_id == "+14255550123"


@pytest.mark.parametrize(
    ("number", "problem"),
    [("4255550123", "with + and the country code"), ("+1", "not a"), ("+1555", "not a")],
)
def test_a_bad_caller_id_is_refused(number: str, problem: str) -> None:
    line = error_line(pstn_caller_id=number)
    assert "ROOMBOT_PSTN_CALLER_ID: " in line
    assert problem in line


def test_api_keys_from_a_comma_separated_string() -> None:
    settings = make(backend_api_keys=f" {BACKEND_KEY} , backend-key-zzzzzzzzzz,", ops_api_keys=OPS_KEY)
    assert settings.backend_api_keys == {BACKEND_KEY, "backend-key-zzzzzzzzzz"}
    assert settings.ops_api_keys == {OPS_KEY}


def test_short_api_keys_are_refused() -> None:
    line = error_line(ops_api_keys="tooshort")
    assert "ROOMBOT_OPS_API_KEYS: every key must be at least 16 characters long" in line
    assert "tooshort" not in line


def test_a_key_in_both_scopes_is_refused() -> None:
    line = error_line(backend_api_keys=BACKEND_KEY, ops_api_keys=BACKEND_KEY)
    assert "ROOMBOT_OPS_API_KEYS: a key must not be both a backend and an ops key" in line


@pytest.mark.parametrize("url", ["memory://", "sqlite:///var/lib/roombot.db", "redis://127.0.0.1:6379/0"])
def test_supported_state_urls(url: str) -> None:
    assert make(state_url=url).state_url == url


@pytest.mark.parametrize("url", ["postgres://db/roombot", "roombot.db", "sqlite://relative.db", "sqlite:///"])
def test_unsupported_state_urls(url: str) -> None:
    assert "ROOMBOT_STATE_URL: " in error_line(state_url=url)


def test_a_menus_file_must_exist(tmp_path: Path) -> None:
    menus = tmp_path / "menus.yaml"
    assert "ROOMBOT_MENUS_FILE: " in error_line(menus_file=menus)
    menus.write_text("menus: {}\n")
    assert make(menus_file=menus).menus_file == menus


def test_notify_url_needs_a_secret() -> None:
    line = error_line(notify_url="https://backend.example/hooks")
    assert "ROOMBOT_NOTIFY_SECRET: is required when ROOMBOT_NOTIFY_URL is set" in line
    settings = make(notify_url="https://backend.example/hooks", notify_secret="s" * 32)
    assert settings.notify_secret is not None
    assert settings.notify_secret.get_secret_value() == "s" * 32


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"retry_max_attempts": 0}, "ROOMBOT_RETRY_MAX_ATTEMPTS"),
        ({"retry_max_seconds": 0}, "ROOMBOT_RETRY_MAX_SECONDS"),
        ({"retry_backoff_base": 2, "retry_backoff_max": 1}, "ROOMBOT_RETRY_BACKOFF_MAX"),
        ({"max_body_bytes": 0}, "ROOMBOT_MAX_BODY_BYTES"),
        ({"callback_base_url": "not a url"}, "ROOMBOT_CALLBACK_BASE_URL"),
        ({"acs_resource_id": "  "}, "ROOMBOT_ACS_RESOURCE_ID"),
        ({"acs_resource_id": "my-acs-resource"}, "ROOMBOT_ACS_RESOURCE_ID"),
        ({"acs_resource_id": "7e0c9d552a4b4f7e9a610e51a7000001"}, "ROOMBOT_ACS_RESOURCE_ID"),
        ({"state_url": "redis://cache:6379/abc"}, "ROOMBOT_STATE_URL"),
        ({"state_url": "redis://cache:port/0"}, "ROOMBOT_STATE_URL"),
        ({"state_url": "redis://cache:6379?db=2"}, "ROOMBOT_STATE_URL"),
        ({"state_url": "redis:///0"}, "ROOMBOT_STATE_URL"),
        ({"eventgrid_key": ""}, "ROOMBOT_EVENTGRID_KEY"),
        ({"eventgrid_key": "short"}, "ROOMBOT_EVENTGRID_KEY"),
        ({"cognitive_services_endpoint": "not a url"}, "ROOMBOT_COGNITIVE_SERVICES_ENDPOINT"),
        ({"log_level": "LOUD"}, "ROOMBOT_LOG_LEVEL"),
        ({"log_format": "xml"}, "ROOMBOT_LOG_FORMAT"),
        ({"handlers": {"end_call": "on"}}, "ROOMBOT_HANDLERS[end_call]"),
    ],
)
def test_each_bad_setting_is_named_by_its_environment_variable(values: dict[str, Any], name: str) -> None:
    assert f"{name}: " in error_line(**values)


@pytest.mark.parametrize(
    "url", ["redis://cache:6379/0", "redis://:pw@cache:6379/15", "rediss://cache:6380", "redis://cache/3"]
)
def test_redis_urls_with_an_integer_database_or_none(url: str) -> None:
    assert make(state_url=url).state_url == url


def test_the_resource_id_is_a_guid_kept_in_lower_case() -> None:
    settings = make(acs_resource_id=" 7E0C9D55-2A4B-4F7E-9A61-0E51A7000001 ")
    assert settings.acs_resource_id == "7e0c9d55-2a4b-4f7e-9a61-0e51a7000001"


@pytest.mark.parametrize("key", [None, ""], ids=["unset", "empty"])
def test_auto_join_needs_an_eventgrid_key(key: str | None) -> None:
    values: dict[str, Any] = {"auto_join": True}
    if key is not None:
        values["eventgrid_key"] = key
    line = error_line(**values)
    assert "ROOMBOT_EVENTGRID_KEY" in line
    assert make(auto_join=True, eventgrid_key="k" * 16).auto_join is True


def test_logging_and_ai_services_defaults() -> None:
    settings = make()
    assert (settings.log_level, settings.log_format) == ("INFO", "text")
    assert settings.cognitive_services_endpoint is None
    assert make(log_level="debug").log_level == "DEBUG"


def test_an_unknown_variable_stops_start_up_naming_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch, no_roombot_env: Path
) -> None:
    monkeypatch.setenv("ROOMBOT_STATEURL", "memory://")
    (no_roombot_env / ".env").write_text("ROOMBOT_AUTOJOIN=true\nROOMBOT_NOTHING_LIKE_IT=1\n")
    with pytest.raises(UnknownSettingError) as failed:
        load_settings()
    line = str(failed.value)
    assert "\n" not in line
    assert "ROOMBOT_STATEURL (environment) is not a setting; did you mean ROOMBOT_STATE_URL?" in line
    assert "ROOMBOT_AUTOJOIN (.env) is not a setting; did you mean ROOMBOT_AUTO_JOIN?" in line
    assert "ROOMBOT_NOTHING_LIKE_IT (.env) is not a setting" in line


def test_names_are_matched_in_any_case_as_pydantic_settings_reads_them(
    monkeypatch: pytest.MonkeyPatch, no_roombot_env: Path
) -> None:
    monkeypatch.setenv("roombot_log_format", "json")
    assert load_settings().log_format == "json"


def test_the_known_names_are_the_declared_fields() -> None:
    declared = [f"ROOMBOT_{name.upper()}" for name in Settings.model_fields]
    assert unknown_names("ROOMBOT_", declared, dict.fromkeys(declared, "x"), None) == []
    assert unknown_names("ROOMBOT_", declared, {"ROOMBOT_NOT_DECLARED": "x"}, None) != []


def test_several_problems_stay_on_one_line() -> None:
    line = error_line(retry_max_attempts=0, state_url="nope")
    assert "ROOMBOT_STATE_URL" in line
    assert "ROOMBOT_RETRY_MAX_ATTEMPTS" in line


def test_the_callback_url_is_derived_from_the_base() -> None:
    assert make(callback_base_url="https://bot.example/").callback_url == "https://bot.example/api/callbacks"


@pytest.fixture
def no_roombot_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A working directory without .env and an environment without ROOMBOT_* (a developer's
    shell may set some, e.g. ROOMBOT_TEST_REDIS_URL)."""
    for name in list(os.environ):
        if name.upper().startswith("ROOMBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, no_roombot_env: Path) -> None:
    env_file = no_roombot_env / ".env"
    env_file.write_text(
        f"ROOMBOT_ACS_CONNECTION_STRING=endpoint=http://127.0.0.1:8081/;accesskey={KEY}\n"
        f"ROOMBOT_BACKEND_API_KEYS={BACKEND_KEY},backend-key-zzzzzzzzzz\n"
        "ROOMBOT_AUTO_JOIN=true\n"
        "ROOMBOT_EVENTGRID_KEY=eventgrid-key-0123456789\n"
        "ROOMBOT_STATE_URL=memory://\n"
        "OTHER_TOOL_SETTING=not ours, left alone\n"
    )
    # The real environment wins over .env.
    monkeypatch.setenv("ROOMBOT_STATE_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("ROOMBOT_HANDLERS", '{"end_call": {"warnSeconds": 60}}')
    monkeypatch.setenv("ROOMBOT_RETRY_MAX_ATTEMPTS", "3")
    settings = load_settings()
    assert settings.acs_endpoint_and_key == ("http://127.0.0.1:8081", KEY)
    assert settings.backend_api_keys == {BACKEND_KEY, "backend-key-zzzzzzzzzz"}
    assert settings.auto_join is True
    assert settings.state_url == "redis://127.0.0.1:6379/15"
    assert settings.handlers == {"end_call": {"warnSeconds": 60}}
    assert settings.retry_max_attempts == 3
    # Keyword overrides (the CLI's flags) win over both.
    assert load_settings(retry_max_attempts=9).retry_max_attempts == 9

    monkeypatch.setenv("ROOMBOT_HANDLERS", "{not json")
    with pytest.raises(ValidationError) as failed:
        load_settings()
    assert format_settings_error(failed.value).startswith(
        "invalid settings: ROOMBOT_HANDLERS: is not valid JSON"
    )
