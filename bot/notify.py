"""Posting outcomes to the backend's ``NOTIFY_URL``, signed with ``NOTIFY_SECRET``.

The body is JSON; ``X-Roombot-Signature: sha256=<hex>`` is the HMAC-SHA256 of
``<timestamp>.<body>`` keyed with the secret, and ``X-Roombot-Timestamp`` carries the Unix time
so that a receiver can refuse stale replays. Delivery is retried a few times with backoff; a
notification that still fails is logged and dropped (it never blocks a call).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import aiohttp
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

logger = logging.getLogger(f"roombot.{__name__}")

SIGNATURE_HEADER = "X-Roombot-Signature"
TIMESTAMP_HEADER = "X-Roombot-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class NotifyDeliveryError(Exception):
    pass


# aiohttp signals its own timeouts with TimeoutError, which is no aiohttp.ClientError.
RETRIED = (aiohttp.ClientError, TimeoutError, NotifyDeliveryError)
DEFAULT_TIMEOUT_SECONDS = 10.0


class Notifier:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str | None,
        secret: str | None,
        attempts: int = 4,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._session = session
        self._url = url
        self._secret = secret
        self._attempts = attempts
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    @property
    def enabled(self) -> bool:
        return self._url is not None

    async def notify(self, event: str, **fields: Any) -> bool:
        """Post ``{"event": event, **fields}``; True when the backend acknowledged it with 2xx."""
        if self._url is None:
            return False
        body = json.dumps({"event": event, **fields}, separators=(",", ":"), default=str).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, timestamp, body)
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts),
                # wait_exponential_jitter's `initial` is deprecated in newer tenacity (a warning,
                # an error under the tests); this sum means the same in every tenacity 9.
                wait=wait_exponential(multiplier=0.2, max=5) + wait_random(0, 1),
                retry=retry_if_exception_type(RETRIED),
                reraise=True,
            ):
                with attempt:
                    return await self._post(body, headers)
        except RETRIED as exc:
            logger.warning("notification %s to %s failed: %r", event, self._url, exc)
        return False

    async def _post(self, body: bytes, headers: dict[str, str]) -> bool:
        assert self._url is not None
        async with self._session.post(self._url, data=body, headers=headers, timeout=self._timeout) as resp:
            if resp.status >= 500 or resp.status == 429:
                raise NotifyDeliveryError(f"backend answered {resp.status}")
            if resp.status >= 300:
                # A 4xx will not get better by retrying: the backend refused this notification.
                logger.warning("notification refused by backend with %s", resp.status)
                return False
            return True
