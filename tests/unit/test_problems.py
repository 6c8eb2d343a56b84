"""problem+json answers and JSON body reading, through a real aiohttp app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from bot.problems import (
    PROBLEM_CONTENT_TYPE,
    VALIDATION_TYPE,
    ProblemError,
    loads_json,
    problem_middleware,
    problem_response,
    read_json,
)

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
Client = TestClient[web.Request, web.Application]


class Target(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    raw_ids: list[str] = Field(min_length=1)


class DialOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    phone_number: str
    ring_timeout_seconds: int = Field(default=30, ge=1, le=180)
    target: Target | None = None


async def dialout(request: web.Request) -> web.Response:
    body = await read_json(request, DialOut)
    return web.json_response(body.model_dump(by_alias=True), status=202)


async def conflict(request: web.Request) -> web.Response:
    raise ProblemError(
        409, "Dial-out not enabled", "Room 42 does not allow PSTN dial-out.", extra={"roomId": "42"}
    )


async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals: password=hunter2")


async def redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/elsewhere")


@pytest.fixture
async def client(aiohttp_client: ClientFactory) -> Client:
    app = web.Application(middlewares=[problem_middleware], client_max_size=1024)
    app.router.add_post("/dialouts", dialout)
    app.router.add_post("/conflict", conflict)
    app.router.add_get("/crash", crash)
    app.router.add_get("/redirect", redirect)
    return await aiohttp_client(app)


async def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status
    assert response.content_type == PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = await response.json(content_type=PROBLEM_CONTENT_TYPE)
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


async def test_a_valid_body_reaches_the_route(client: Client) -> None:
    response = await client.post("/dialouts", json={"phoneNumber": "+14255550123"})
    assert response.status == 202
    assert (await response.json())["ringTimeoutSeconds"] == 30


async def test_problem_error_keeps_title_detail_and_extensions(client: Client) -> None:
    body = await problem(await client.post("/conflict"), 409)
    assert body == {
        "type": "about:blank",
        "title": "Dial-out not enabled",
        "status": 409,
        "detail": "Room 42 does not allow PSTN dial-out.",
        "roomId": "42",
    }


async def test_an_unknown_route_is_a_404_problem(client: Client) -> None:
    body = await problem(await client.get("/nowhere"), 404)
    assert body["title"] == "Not Found"
    assert "/nowhere" in body["detail"]


async def test_a_wrong_method_is_a_405_problem_with_allow(client: Client) -> None:
    response = await client.get("/dialouts")
    body = await problem(response, 405)
    assert response.headers["Allow"] == "POST"
    assert "POST" in body["detail"]


async def test_a_body_over_the_limit_is_a_413_problem(client: Client) -> None:
    payload = {"phoneNumber": "+14255550123", "padding": "x" * 4096}
    body = await problem(await client.post("/dialouts", json=payload), 413)
    assert "1024" in body["detail"]


async def test_an_unexpected_error_is_a_bare_500(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    response = await client.get("/crash")
    body = await problem(response, 500)
    text = await response.text()
    assert "hunter2" not in text
    assert "Traceback" not in text
    assert body["title"] == "Internal Server Error"
    # The operator still gets the trace, in the log.
    assert any("hunter2" in (record.exc_text or "") for record in caplog.records)


async def test_redirects_pass_through(client: Client) -> None:
    response = await client.get("/redirect", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/elsewhere"


async def test_malformed_json_is_a_400(client: Client) -> None:
    response = await client.post(
        "/dialouts", data=b'{"phoneNumber": ', headers={"Content-Type": "application/json"}
    )
    body = await problem(response, 400)
    assert body["title"] == "Malformed JSON"
    assert "line 1" in body["detail"]


async def test_an_empty_body_is_a_400(client: Client) -> None:
    response = await client.post("/dialouts", data=b"", headers={"Content-Type": "application/json"})
    assert "needs a JSON body" in (await problem(response, 400))["detail"]


async def test_non_utf8_is_a_400(client: Client) -> None:
    response = await client.post(
        "/dialouts", data=b'"\xff\xfe"', headers={"Content-Type": "application/json"}
    )
    await problem(response, 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_wrong_content_type_is_a_415(client: Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/dialouts", data=b'{"phoneNumber": "+1"}', headers=headers)
    body = await problem(response, 415)
    assert "application/json" in body["detail"]


async def test_a_json_suffix_type_is_accepted(client: Client) -> None:
    response = await client.post(
        "/dialouts", data=b'{"phoneNumber": "+1"}', headers={"Content-Type": "application/merge-patch+json"}
    )
    assert response.status == 202


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "phoneNumber"),
        ({"phoneNumber": 5}, "phoneNumber"),
        ({"phoneNumber": "+1", "ringTimeoutSeconds": 999}, "ringTimeoutSeconds"),
        ({"phoneNumber": "+1", "ringTimeoutSeconds": "soon"}, "ringTimeoutSeconds"),
        ({"phoneNumber": "+1", "target": {"rawIds": []}}, "target.rawIds"),
        ({"phoneNumber": "+1", "target": {"rawIds": ["ok", 7]}}, "target.rawIds[1]"),
        ([1, 2], "body"),
    ],
)
async def test_invalid_fields_are_a_422_naming_the_camel_case_field(
    client: Client, payload: Any, field: str
) -> None:
    body = await problem(await client.post("/dialouts", json=payload), 422)
    assert body["type"] == VALIDATION_TYPE
    assert body["detail"].startswith(f"{field}: ")
    assert body["errors"][0]["field"] == field


def test_problem_response_defaults_title_and_detail_to_the_status_phrase() -> None:
    response = problem_response(503)
    assert response.status == 503
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert response.text is not None
    assert '"title": "Service Unavailable"' in response.text


def test_extensions_cannot_override_standard_members() -> None:
    response = problem_response(404, "Room not found", "No room 7.", extra={"status": 200, "roomId": "7"})
    assert response.text is not None
    assert '"status": 404' in response.text
    assert '"roomId": "7"' in response.text


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"[" * 40 + b"]" * 40, "nested deeper than 32 levels"),
        (b"[" * 5000 + b"]" * 5000, "nested deeper than 32 levels"),
        (b"[" + b"9" * 5000 + b"]", "number too large"),
        (b"[1e400]", "number too large"),
        (b'{"x": NaN}', "line 1 column 7"),
        (b'["\\ud800"]', "surrogate"),
        (b'["caf\xe9"]', "not UTF-8"),
        (b'{"a": 1,}', "line 1"),
    ],
    ids=[
        "40-deep",
        "5000-deep",
        "5000-digits",
        "1e400",
        "nan",
        "lone-surrogate",
        "latin-1",
        "trailing-comma",
    ],
)
def test_json_no_field_could_hold_is_a_400_saying_why(raw: bytes, detail: str) -> None:
    with pytest.raises(ProblemError) as refused:
        loads_json(raw, title="Malformed callback body")
    assert (refused.value.status, refused.value.title) == (400, "Malformed callback body")
    assert detail in refused.value.detail


def test_json_as_deep_as_allowed_and_64_bit_integers_are_read_exactly() -> None:
    assert loads_json(b"[" * 32 + b"]" * 32) is not None
    assert loads_json(
        b'{"big": 18446744073709551615, "low": -9223372036854775808, "text": "caf\xc3\xa9"}'
    ) == {
        "big": 2**64 - 1,
        "low": -(2**63),
        "text": "caf\u00e9",
    }
