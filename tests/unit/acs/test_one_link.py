"""The facade's SansIO policies run as one pipeline link, with azure-core's own semantics:
the same hooks in the same order, for an answer and for a failure, as separate links run them."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest
from azure.core.pipeline import AsyncPipeline, PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.pipeline.transport import AsyncHttpTransport
from azure.core.rest import HttpRequest

from bot.acs.sdk import OneLink


class Recording(SansIOHTTPPolicy[Any, Any]):
    def __init__(self, name: str, calls: list[str], *, fail_on: str | None = None) -> None:
        self.name, self.calls, self.fail_on = name, calls, fail_on

    def _record(self, hook: str) -> None:
        self.calls.append(f"{self.name}.{hook}")
        if hook == self.fail_on:
            raise RuntimeError(f"{self.name} failed in {hook}")

    def on_request(self, request: PipelineRequest[Any]) -> None:
        self._record("request")

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        self._record("response")

    def on_exception(self, request: PipelineRequest[Any]) -> None:
        self._record("exception")


class Answering(AsyncHttpTransport[Any, Any]):
    """Answers every request with the same object, or fails as a lost connection would."""

    def __init__(self, calls: list[str], *, fails: bool = False) -> None:
        self.calls, self.fails = calls, fails

    async def __aenter__(self) -> Answering:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, request: Any, **kwargs: Any) -> Any:
        self.calls.append("transport")
        if self.fails:
            raise ConnectionError("connection lost")
        return object()


async def _calls_of(
    one_link: bool, *, fails: bool = False, fail_on: tuple[str, str] | None = None
) -> list[str]:
    calls: list[str] = []
    chain = [
        Recording(name, calls, fail_on=fail_on[1] if fail_on and fail_on[0] == name else None)
        for name in ("a", "b", "c")
    ]
    links: list[Any] = [OneLink(chain)] if one_link else chain
    pipeline = AsyncPipeline(Answering(calls, fails=fails), links)

    failing = fails or fail_on is not None
    with pytest.raises((RuntimeError, ConnectionError)) if failing else nullcontext():
        async with pipeline:
            await pipeline.run(HttpRequest("GET", "https://example.communication.azure.com/calls"))
    return calls


async def test_an_answer_passes_the_hooks_in_order_and_back() -> None:
    assert await _calls_of(one_link=True) == [
        "a.request",
        "b.request",
        "c.request",
        "transport",
        "c.response",
        "b.response",
        "a.response",
    ]
    assert await _calls_of(one_link=True) == await _calls_of(one_link=False)


@pytest.mark.parametrize(
    "failure",
    [
        {"fails": True},
        {"fail_on": ("b", "request")},
        {"fail_on": ("a", "request")},
        {"fail_on": ("b", "response")},
        {"fail_on": ("c", "response")},
    ],
    ids=["transport", "b.request", "a.request", "b.response", "c.response"],
)
async def test_a_failure_reaches_the_same_exception_hooks_as_with_separate_links(
    failure: dict[str, Any],
) -> None:
    assert await _calls_of(one_link=True, **failure) == await _calls_of(one_link=False, **failure)


async def test_a_transport_failure_reaches_every_exception_hook_innermost_first() -> None:
    assert await _calls_of(one_link=True, fails=True) == [
        "a.request",
        "b.request",
        "c.request",
        "transport",
        "c.exception",
        "b.exception",
        "a.exception",
    ]


class Deferred(SansIOHTTPPolicy[Any, Any]):
    """Hooks that return a coroutine, as azure-core allows: the work happens when it is awaited."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    async def _note(self, hook: str) -> None:
        self.calls.append(f"deferred.{hook}")

    def on_request(self, request: PipelineRequest[Any]) -> Any:
        return self._note("request")

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> Any:
        return self._note("response")

    def on_exception(self, request: PipelineRequest[Any]) -> Any:
        return self._note("exception")


@pytest.mark.parametrize("fails", [False, True], ids=["answer", "failure"])
async def test_a_hook_that_returns_an_awaitable_is_awaited_in_its_turn(fails: bool) -> None:
    calls: list[str] = []
    pipeline = AsyncPipeline(Answering(calls, fails=fails), [OneLink([Deferred(calls)])])
    with pytest.raises(ConnectionError) if fails else nullcontext():
        async with pipeline:
            await pipeline.run(HttpRequest("GET", "https://example.communication.azure.com/calls"))
    ending = "deferred.exception" if fails else "deferred.response"
    assert calls == ["deferred.request", "transport", ending]
