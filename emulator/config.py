"""The emulator's configuration and its documented development defaults."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

# A fixed, documented key so that `roombot serve` and the emulator agree without setup.
# It is base64 because the official SDKs base64-decode the access key before signing.
DEV_ACCESS_KEY = base64.b64encode(b"roombot-emulator-development-access-key!").decode()
# The immutable resource id of the emulated ACS resource: the audience of callback JWTs
# and the <resource> part of `8:acs:<resource>_<guid>` identities.
DEV_RESOURCE_ID = "7e0c9d55-2a4b-4f7e-9a61-0e51a7000001"
DEFAULT_PORT = 8081
# The `iss` of the real service's callback tokens ("Secure webhook endpoint" how-to of Call
# Automation). The emulator signs with it by default, so that an app checking the issuer against
# Microsoft's constant works unchanged once its key set URL points at the emulator.
ACS_CALLBACK_ISSUER = "https://acscallautomation.communication.azure.com"
# ACS speaks text and SSML prompts only on a call whose answer, create or connect request named
# an Azure AI services endpoint (callIntelligenceOptions.cognitiveServicesEndpoint). The emulator
# treats every endpoint as linked to its resource; this is the one roombot's embedded default
# and its tests pass. `.invalid` (RFC 2606) can never be a real host.
DEV_COGNITIVE_SERVICES_ENDPOINT = "https://roombot-emulator.cognitiveservices.invalid/"


@dataclass(frozen=True)
class EmulatorConfig:
    """How one emulator instance behaves.

    ``public_url`` is the base URL clients use to reach the emulator; it is filled in once the
    server is bound (port 0 in tests) and is where the OpenID configuration's ``jwks_uri`` points.
    ``issuer`` is the ``iss`` of callback tokens and the OpenID configuration's ``issuer``.
    """

    access_key: str = DEV_ACCESS_KEY
    resource_id: str = DEV_RESOURCE_ID
    # Multiplies every simulated duration (ringing, prompts, timeouts): 0.05 is 20x faster.
    time_scale: float = 1.0
    public_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    issuer: str = ACS_CALLBACK_ISSUER
    # The host name written into recording file locations instead of the emulator's own (same
    # scheme and port): the SDKs download only from ACS storage hosts (``*.asm.skype.com``).
    recording_host: str | None = None
    # ACS rejects requests whose x-ms-date is more than 15 minutes off the server clock.
    max_clock_skew_seconds: float = 15 * 60
    # ACS remembers a Repeatability-Request-ID for about five minutes.
    repeatability_ttl_seconds: float = 5 * 60
    # Lifetime of each callback JWT, as ACS issues them.
    callback_token_lifetime_seconds: int = 5 * 60
    # The control API under /emulator answers loopback clients only unless this is False.
    control_loopback_only: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            base64.b64decode(self.access_key, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("access_key must be valid base64") from exc
        if self.time_scale <= 0:
            raise ValueError("time_scale must be greater than 0")
        if not self.issuer.strip():
            raise ValueError("issuer must not be empty")

    @property
    def connection_string(self) -> str:
        return f"endpoint={self.public_url.rstrip('/')}/;accesskey={self.access_key}"

    def storage_url(self, public_url: str) -> str:
        """The base URL of recording file locations, for an emulator reached at ``public_url``."""
        if self.recording_host is None:
            return public_url.rstrip("/")
        parts = urlsplit(public_url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{self.recording_host}{port}"

    def with_public_url(self, url: str) -> EmulatorConfig:
        return replace(self, public_url=url.rstrip("/"))
