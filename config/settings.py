"""roombot's settings: one pydantic-settings class read from `ROOMBOT_*` variables and `.env`.

Nothing here runs at import: `load_settings()` is called by the CLI (and tests build `Settings`
directly), so an invalid value stops start-up with the one line of `format_settings_error`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config.environment import UnknownSettingError, unknown_names
from config.phone import PhoneNumber
from config.values import (
    check_resource_id,
    check_state_url,
    parse_connection_string,
    split_keys,
)

ENV_PREFIX = "ROOMBOT_"
ENV_FILE = ".env"
DEFAULT_ACS_OPENID_URL = (
    "https://acscallautomation.communication.azure.com/calling/.well-known/acsopenidconfiguration"
)
# Long enough that a key cannot be guessed by trying: 16 characters of base64 are 96 bits.
MIN_API_KEY_LENGTH = 16
MIB = 1024 * 1024
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


ApiKeySet = Annotated[set[str], NoDecode]


class Settings(BaseSettings):
    """Everything roombot reads from its environment (prefix `ROOMBOT_`, `.env` included)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
    )

    acs_connection_string: SecretStr | None = Field(
        default=None,
        description="ACS connection string `endpoint=<url>;accesskey=<base64>`; the endpoint's scheme "
        "is kept, so `http://` reaches the emulator. Unset: `roombot serve` embeds the emulator.",
    )
    callback_base_url: AnyHttpUrl | None = Field(
        default=None,
        description="Public base URL at which ACS reaches the bot; callbacks go to "
        "`<base>/api/callbacks`. HTTPS in production.",
    )
    acs_resource_id: str | None = Field(
        default=None,
        description="Immutable id of the ACS resource: the audience of callback JWTs.",
    )
    acs_openid_url: AnyHttpUrl = Field(
        default=AnyHttpUrl(DEFAULT_ACS_OPENID_URL),
        description="OpenID configuration that names the issuer and signing keys of callback JWTs.",
    )
    https_proxy: AnyHttpUrl | None = Field(
        default=None,
        description="Proxy for the bot's HTTPS requests to ACS (Call Automation, Rooms, recordings), "
        "e.g. `http://proxy.internal:3128` (credentials, if any, in the URL). Unset: direct; the "
        "`HTTPS_PROXY`/`NO_PROXY` variables and `.netrc` are not read.",
    )
    pstn_caller_id: PhoneNumber | None = Field(
        default=None,
        description="Default caller id (E.164, e.g. +14255550123) shown to dialled phones.",
    )
    backend_api_keys: ApiKeySet = Field(
        default_factory=set,
        description="Bearer keys accepted on the backend routes `/api/...`; comma-separated, "
        f"each at least {MIN_API_KEY_LENGTH} characters.",
    )
    ops_api_keys: ApiKeySet = Field(
        default_factory=set,
        description="Bearer keys accepted on the operator routes `/ops/...`; comma-separated, "
        f"each at least {MIN_API_KEY_LENGTH} characters, none shared with the backend keys.",
    )
    state_url: str = Field(
        default="sqlite:///roombot.db",
        description="Where call state lives: `sqlite:///<path>`, `memory://` or `redis://host:port/db`.",
    )
    redis_prefix: str = Field(
        default="roombot:",
        min_length=1,
        max_length=100,
        description="Prefix of every key a Redis state store writes: replicas of one deployment "
        "share it; deployments sharing a Redis server each need their own.",
    )
    redis_pool_size: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Connections to Redis per bot process at most. A request that finds them all "
        "busy waits up to `redis_pool_timeout_seconds`, then answers 503 with Retry-After.",
    )
    redis_pool_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long a request waits for a free Redis connection."
    )
    retention_days: float = Field(
        default=7.0,
        gt=0,
        le=3650,
        description="How long a finished call's record and event history are kept after it "
        "ended (then housekeeping deletes them; with Redis they also expire).",
    )
    replica_url: AnyHttpUrl | None = Field(
        default=None,
        description="With several replicas: the URL at which the others reach this one (its own "
        "address, not the load balancer's); requests are passed on to the leading replica there. "
        "Unset: the callback base URL.",
    )
    lease_seconds: float = Field(
        default=10.0,
        ge=1,
        le=15,
        description="With a Redis store, how long a replica's hold on a call lasts unless renewed: "
        "a replica that dies loses its calls to the others within this time.",
    )
    menus_file: FilePath | None = Field(
        default=None,
        description="YAML file of DTMF menus and hotkeys, validated at start-up.",
    )
    auto_join: bool = Field(
        default=False,
        description="Connect the bot to every room call that starts (from Event Grid CallStarted).",
    )
    eventgrid_key: SecretStr | None = Field(
        default=None,
        description="When set, `/api/eventgrid` requires `?key=<it>` (at least "
        f"{MIN_API_KEY_LENGTH} characters); required with AUTO_JOIN.",
    )
    cognitive_services_endpoint: AnyHttpUrl | None = Field(
        default=None,
        description="Endpoint of the Azure AI services (Cognitive Services) resource linked to the ACS "
        "resource, passed on every connect as callIntelligenceOptions.cognitiveServicesEndpoint: "
        "ACS speaks text and SSML prompts only with it. The embedded emulator fills in a dev value.",
    )
    log_level: LogLevel = Field(default="INFO", description="Level of roombot's own log lines.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="`text` (one readable line) or `json` (one JSON object a line)."
    )
    notify_url: AnyHttpUrl | None = Field(
        default=None,
        description="Where outcomes (dial-outs, menu notifications) are posted to the backend.",
    )
    notify_secret: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 secret signing the posts to NOTIFY_URL; required when it is set.",
    )
    retry_max_attempts: int = Field(
        default=5, ge=1, le=100, description="Attempts per ACS action, the first included."
    )
    retry_max_seconds: float = Field(
        default=30, gt=0, description="Time budget of one ACS action across all of its attempts."
    )
    retry_backoff_base: float = Field(
        default=0.5, ge=0, description="First backoff in seconds; doubles with each retry."
    )
    retry_backoff_max: float = Field(default=8, ge=0, description="Longest backoff in seconds.")
    retry_jitter: float = Field(
        default=0.5, ge=0, description="Up to this many random seconds added to each backoff."
    )
    handlers: Annotated[dict[str, dict[str, Any]], NoDecode] = Field(
        default_factory=dict,
        description='Per-handler configuration as JSON: `{"<handler>": {...}}`, validated by '
        "each handler's own model at start-up.",
    )
    max_body_bytes: int = Field(
        default=MIB, gt=0, description="Largest request body the bot accepts, in bytes."
    )

    @field_validator("acs_connection_string")
    @classmethod
    def _check_connection_string(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_connection_string(value.get_secret_value())
        return value

    @field_validator("acs_resource_id")
    @classmethod
    def _check_resource_id(cls, value: str | None) -> str | None:
        return check_resource_id(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("eventgrid_key")
    @classmethod
    def _check_eventgrid_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_API_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_API_KEY_LENGTH} characters long")
        return value

    @model_validator(mode="after")
    def _auto_join_needs_a_key(self) -> Settings:
        # Event Grid's webhook carries no token: without the key anyone could post a CallStarted
        # and have the bot join any room of the resource.
        if self.auto_join and self.eventgrid_key is None:
            raise ValueError(
                f"{env_name('auto_join')} needs {env_name('eventgrid_key')} (at least "
                f"{MIN_API_KEY_LENGTH} characters, given to Event Grid as ?key=): without it anyone "
                "could make the bot join a room"
            )
        return self

    @field_validator("handlers", mode="before")
    @classmethod
    def _parse_handlers(cls, value: Any) -> Any:
        # Decoded here rather than by pydantic-settings so that bad JSON is a validation error
        # naming ROOMBOT_HANDLERS, like every other bad value.
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"is not valid JSON ({exc.msg} at column {exc.colno})") from exc
        return value

    @field_validator("backend_api_keys", "ops_api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: Any) -> Any:
        return split_keys(value)

    @field_validator("backend_api_keys", "ops_api_keys")
    @classmethod
    def _check_keys(cls, value: set[str], info: ValidationInfo) -> set[str]:
        if any(len(key) < MIN_API_KEY_LENGTH for key in value):
            raise ValueError(f"every key must be at least {MIN_API_KEY_LENGTH} characters long")
        if any(key != key.strip() or "," in key for key in value):
            raise ValueError("keys must not contain commas or surrounding spaces")
        # Fields validate in declaration order, so the backend keys are known here.
        if info.field_name == "ops_api_keys" and value & info.data.get("backend_api_keys", set()):
            raise ValueError("a key must not be both a backend and an ops key")
        return value

    @field_validator("state_url")
    @classmethod
    def _check_state_url(cls, value: str) -> str:
        return check_state_url(value)

    @field_validator("notify_secret")
    @classmethod
    def _check_notify_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_API_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_API_KEY_LENGTH} characters long")
        # pydantic-settings validates defaults too, so this runs when the secret is unset.
        if value is None and info.data.get("notify_url") is not None:
            raise ValueError("is required when ROOMBOT_NOTIFY_URL is set (posts are HMAC-signed)")
        return value

    @field_validator("retry_backoff_max")
    @classmethod
    def _check_backoff_max(cls, value: float, info: ValidationInfo) -> float:
        base = info.data.get("retry_backoff_base")
        if base is not None and value < base:
            raise ValueError("must not be smaller than retry_backoff_base")
        return value

    @property
    def acs_endpoint_and_key(self) -> tuple[str, str] | None:
        """(endpoint with scheme, access key) of the configured connection string, if any."""
        if self.acs_connection_string is None:
            return None
        return parse_connection_string(self.acs_connection_string.get_secret_value())

    @property
    def callback_url(self) -> str | None:
        """The URL handed to ACS as `callbackUri`."""
        if self.callback_base_url is None:
            return None
        return f"{str(self.callback_base_url).rstrip('/')}/api/callbacks"


def load_settings(**overrides: Any) -> Settings:
    """Read the environment and `.env`; keyword overrides win (the CLI's flags use them).

    Raises UnknownSettingError for a `ROOMBOT_*` name that is no setting (a typo would otherwise
    be ignored), ValidationError for a bad value."""
    problems = unknown_names(ENV_PREFIX, map(env_name, Settings.model_fields), os.environ, Path(ENV_FILE))
    if problems:
        raise UnknownSettingError("invalid settings: " + "; ".join(problems))
    return Settings(**overrides)


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def format_settings_error(exc: ValidationError) -> str:
    """One line naming each bad setting by its environment variable, and the problem.

    Input values are left out on purpose: they may be secrets (keys, connection strings).
    """
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error["loc"]]
        # A model-level check has no field; its message names the variables itself.
        name = env_name(loc[0]) if loc else ""
        if len(loc) > 1:
            name += "".join(f"[{part}]" for part in loc[1:])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{name}: {message}" if name else message)
    return "invalid settings: " + "; ".join(problems)


__all__ = [
    "DEFAULT_ACS_OPENID_URL",
    "Settings",
    "UnknownSettingError",
    "env_name",
    "format_settings_error",
    "load_settings",
    "parse_connection_string",
]
