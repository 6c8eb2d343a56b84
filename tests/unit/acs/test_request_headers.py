"""What the facade's own policies put on a request: a random client request id unless the request
names one, the SDK's user agent with azure-core's ``AZURE_HTTP_USER_AGENT``, and strings of a body
written as the SDK writes them."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any

import pytest
from azure.communication.callautomation._generated._utils.serialization import Serializer
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from bot.acs.sdk import CLIENT_REQUEST_ID, ModelBodies, RandomRequestIds, user_agent


def _request(headers: dict[str, str] | None = None, **options: Any) -> PipelineRequest[HttpRequest]:
    context = PipelineContext(None, **options)
    return PipelineRequest(
        HttpRequest("GET", "https://example.communication.azure.com/", headers=headers), context
    )


def test_a_request_without_an_id_gets_a_random_one_each_time() -> None:
    ids = []
    for _ in range(2):
        request = _request()
        RandomRequestIds().on_request(request)
        ids.append(request.http_request.headers[CLIENT_REQUEST_ID])
    assert all(uuid.UUID(value).version == 4 for value in ids)
    assert ids[0] != ids[1]


def test_an_id_the_request_carries_or_names_is_kept() -> None:
    carried = _request({CLIENT_REQUEST_ID: "carried-id"})
    RandomRequestIds().on_request(carried)
    assert carried.http_request.headers[CLIENT_REQUEST_ID] == "carried-id"
    named = _request(request_id="named-id")
    RandomRequestIds().on_request(named)
    assert named.http_request.headers[CLIENT_REQUEST_ID] == "named-id"
    assert "request_id" not in named.context.options


def test_a_request_id_of_none_sends_no_id() -> None:
    request = _request(request_id=None)
    RandomRequestIds().on_request(request)
    assert CLIENT_REQUEST_ID not in request.http_request.headers


@pytest.mark.parametrize("added", [None, "contoso-telehealth/2.1"])
def test_the_user_agent_is_the_sdks_with_azure_cores_addition(
    added: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if added is None:
        monkeypatch.delenv("AZURE_HTTP_USER_AGENT", raising=False)
    else:
        monkeypatch.setenv("AZURE_HTTP_USER_AGENT", added)
    request = _request()
    user_agent("communication-callautomation/1.6.0").on_request(request)
    sent = request.http_request.headers["User-Agent"]
    assert sent.startswith("azsdk-python-communication-callautomation/1.6.0 Python/")
    if added is not None:
        assert sent.endswith(f") {added}")
    else:
        assert sent.endswith(")")


# As the SDK's generated enums are declared (a str and an Enum, not a StrEnum).
class Color(str, Enum):  # noqa: UP042
    RED = "red"


@pytest.mark.parametrize("value", ["plain", "", "ünïcode", Color.RED, 5, 2.5, True])
def test_strings_are_written_as_the_sdk_writes_them(value: Any) -> None:
    written = ModelBodies.serialize_unicode(value)
    assert written == Serializer.serialize_unicode(value)  # type: ignore[no-untyped-call]
    assert type(written) is type(Serializer.serialize_unicode(value))  # type: ignore[no-untyped-call]
