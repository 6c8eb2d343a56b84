"""compose.yaml, read as YAML (no Docker engine runs here): the bot with Redis, settings that
roombot knows, state on a volume, health checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.environment import unknown_names
from config.settings import ENV_PREFIX, Settings, env_name
from config.values import check_state_url

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"
REQUIRED = {
    "ROOMBOT_ACS_CONNECTION_STRING",
    "ROOMBOT_ACS_RESOURCE_ID",
    "ROOMBOT_CALLBACK_BASE_URL",
    "ROOMBOT_BACKEND_API_KEYS",
    "ROOMBOT_OPS_API_KEYS",
}


def services() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    return dict(document["services"])


def environment() -> dict[str, str | None]:
    entries = services()["roombot"]["environment"]
    return {name: value or None for name, _, value in (entry.partition("=") for entry in entries)}


def test_every_variable_is_a_setting_and_the_required_ones_must_be_set() -> None:
    env = environment()
    known = [env_name(field) for field in Settings.model_fields]
    assert unknown_names(ENV_PREFIX, known, env, None) == []
    for name in REQUIRED:
        value = env[name]
        assert value is not None
        assert value.startswith(f"${{{name}:?"), f"{name} must be required: {value}"


def test_the_state_is_redis_on_a_volume() -> None:
    state_url = environment()["ROOMBOT_STATE_URL"]
    assert state_url is not None
    assert check_state_url(state_url).startswith("redis://redis:6379/")
    redis = services()["redis"]
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert "redis-cli" in redis["healthcheck"]["test"]
    assert services()["roombot"]["depends_on"]["redis"]["condition"] == "service_healthy"
