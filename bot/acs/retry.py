"""The one retry policy of every ACS call the bot makes (azure-core's own retries are off).

One logical action = one `Repeatability-Request-ID`: every attempt resends the same id, so ACS
answers a repeat with the first result instead of acting twice (e.g. dialling a phone twice).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

import aiohttp
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(f"roombot.{__name__}")

T = TypeVar("T")
Headers = dict[str, str]

REPEATABILITY_REQUEST_ID = "Repeatability-Request-ID"
REPEATABILITY_FIRST_SENT = "Repeatability-First-Sent"
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Answers that say the service refused the request before acting on it: safe to resend even
# when the action is neither idempotent nor protected by a repeatability id. 503 is not one: a
# gateway answers it also when the service acted and its answer was lost on the way back.
REFUSED_UNPROCESSED_STATUSES = frozenset({408, 429})
# Retry-After in milliseconds, as Azure services send it; seconds/HTTP-date as `Retry-After`.
RETRY_AFTER_MS_HEADERS = ("retry-after-ms", "x-ms-retry-after-ms")


def repeatability_headers(request_id: str | None = None, first_sent: datetime | None = None) -> Headers:
    """The two headers that make ACS answer a resent request with its first result.

    Pass a persisted `request_id`/`first_sent` to resume one logical action after a restart.
    """
    sent = first_sent or datetime.now(UTC)
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    return {
        REPEATABILITY_REQUEST_ID: request_id or str(uuid.uuid4()),
        REPEATABILITY_FIRST_SENT: format_datetime(sent.astimezone(UTC), usegmt=True),
    }


def response_headers(exc: BaseException) -> dict[str, str]:
    """The headers of the answer behind an HttpResponseError, lower-cased; {} if none."""
    response = exc.response if isinstance(exc, HttpResponseError) else None
    # azure-core types `response` by a protocol without `headers`; both of its real response
    # classes (pipeline transport and azure.core.rest) have them.
    headers: Mapping[str, str] = getattr(response, "headers", None) or {}
    return {str(name).lower(): str(value) for name, value in headers.items()}


def retry_after_seconds(exc: BaseException) -> float | None:
    """The wait the service asked for in the error's answer, if it asked."""
    headers = response_headers(exc)
    for name in RETRY_AFTER_MS_HEADERS:
        if name in headers:
            try:
                return max(0.0, float(headers[name]) / 1000)
            except ValueError:
                continue
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are retried, how often, for how long, and how long to wait between."""

    max_attempts: int = 5
    max_seconds: float = 30.0
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    # Up to this many random seconds are added to each backoff so that many bots retrying the
    # same outage do not hit ACS in lockstep.
    jitter: float = 0.5
    retry_statuses: frozenset[int] = TRANSIENT_STATUSES
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_seconds <= 0:
            raise ValueError("max_seconds must be greater than 0")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.retry_max_attempts,
            max_seconds=settings.retry_max_seconds,
            backoff_base=settings.retry_backoff_base,
            backoff_max=settings.retry_backoff_max,
            jitter=settings.retry_jitter,
        )

    async def call(
        self,
        action: Callable[[Headers], Awaitable[T]],
        *,
        idempotent: bool = True,
        repeatability: bool = True,
        headers: Mapping[str, str] | None = None,
        description: str = "ACS request",
    ) -> T:
        """Run `action(headers)` until it succeeds, fails for good, or the budget is spent.

        With `repeatability`, `headers` carries one fresh Repeatability-Request-ID (or the given
        `headers`, e.g. a persisted id) and every attempt gets the same values. An action that is
        neither idempotent nor repeatable is resent only when the service surely did not act on
        it (connection refused, 408, 429). The last error is re-raised.
        """
        if headers is not None:
            sent: Headers = dict(headers)
        else:
            sent = repeatability_headers() if repeatability else {}
        safe = idempotent or REPEATABILITY_REQUEST_ID in sent
        started = time.monotonic()
        # The first attempt runs outside tenacity: most ACS requests succeed at once, and every
        # AsyncRetrying is a reference cycle (it and its thread-local iteration state point at each
        # other) that only the cyclic garbage collector frees. One per action at hundreds of
        # actions a second filled the young generation and made its collections the latency tail.
        try:
            return await action(dict(sent))
        except Exception as exc:
            if self.max_attempts == 1 or not self.is_retryable(exc, safe=safe):
                raise
            first_failure: BaseException | None = exc

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s failed (attempt %d/%d, %s), retrying in %.2fs",
                description,
                state.attempt_number,
                self.max_attempts,
                _describe(error),
                wait,
            )

        retrying = AsyncRetrying(
            stop=lambda state: self._should_stop(state, started),
            wait=lambda state: self._wait(state, started),
            retry=retry_if_exception(lambda exc: self.is_retryable(exc, safe=safe)),
            before_sleep=log_retry,
            sleep=self.sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if first_failure is not None:
                    # tenacity's first attempt is the one already made: its failure decides.
                    failure, first_failure = first_failure, None
                    raise failure
                return await action(dict(sent))
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    def is_retryable(self, exc: BaseException, *, safe: bool = True) -> bool:
        """Whether `exc` is a transient failure worth another attempt."""
        if isinstance(exc, HttpResponseError):
            status = exc.status_code
            if status is None or status not in self.retry_statuses:
                return False
            return safe or status in REFUSED_UNPROCESSED_STATUSES
        if isinstance(exc, ServiceRequestError | aiohttp.ClientConnectorError):
            return True  # the request never reached the service
        if isinstance(exc, ServiceResponseError | aiohttp.ClientError | TimeoutError):
            return safe  # it may have been acted on: resend only what cannot act twice
        return False

    def _should_stop(self, state: RetryCallState, started: float) -> bool:
        elapsed = time.monotonic() - started
        return state.attempt_number >= self.max_attempts or elapsed >= self.max_seconds

    def _wait(self, state: RetryCallState, started: float) -> float:
        remaining = max(0.0, self.max_seconds - (time.monotonic() - started))
        error = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(error) if error is not None else None
        if asked is not None:
            return min(asked, remaining)
        backoff = min(self.backoff_max, self.backoff_base * 2.0 ** (state.attempt_number - 1))
        # Jitter only spreads load; it needs no cryptographic randomness.
        backoff += random.uniform(0, self.jitter)  # noqa: S311
        return min(backoff, remaining)


def _describe(error: BaseException | None) -> str:
    if isinstance(error, HttpResponseError):
        return f"HTTP {error.status_code}"
    return type(error).__name__ if error is not None else "no error"
