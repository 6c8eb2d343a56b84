"""The one check of URLs that clients hand the emulator (callbacks, files, webhooks)."""

from __future__ import annotations

from urllib.parse import urlsplit


class PublicUrl:
    """The base URL clients reach the emulator at, known only once the server is bound."""

    def __init__(self, value: str) -> None:
        self.value = value.rstrip("/")


def is_http_url(value: object) -> bool:
    """Whether ``value`` is an absolute http(s) URL with a host the emulator could reach.

    ``urlsplit`` raises ValueError on some malformed input (``http://[::1``), and so does
    ``port`` on a port that is not a number up to 65535: both mean "not a URL", never a crash.
    """
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and port != 0
