"""`GET /openapi.json` is an OpenAPI 3.1 document listing exactly the operations the bot serves,
including those its handlers add."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from bot import keys
from bot.app import create_app
from bot.handlers import HandlerFactory
from bot.routes.openapi import build_document
from bot.testing import IsolatedSettings, RoomBot
from handlers.end_call import EndCallHandler
from tests.e2e.sample_handlers import Greeter

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def roombot_handler_factories() -> dict[str, HandlerFactory]:
    return {"end_call": EndCallHandler, "greeter": Greeter}


def served(app: web.Application) -> set[tuple[str, str]]:
    """(method, path template) of every route; HEAD is aiohttp's automatic twin of GET."""
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


async def openapi(roombot: RoomBot) -> dict[str, Any]:
    reply = await roombot.request("GET", "/openapi.json")
    assert reply.status == 200, reply.text
    assert reply.content_type == "application/json"
    assert isinstance(reply.body, dict)
    return reply.body


async def test_the_document_is_openapi_3_1(roombot: RoomBot) -> None:
    document = await openapi(roombot)

    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"]
    assert document["info"]["version"]


async def test_the_document_lists_exactly_the_served_operations(roombot: RoomBot) -> None:
    document = await openapi(roombot)

    assert documented(document) == served(roombot.app)
    assert ("post", "/api/rooms/{roomId}/greetings") in documented(document)


async def test_every_reference_and_parameter_is_declared(roombot: RoomBot) -> None:
    document = await openapi(roombot)
    schemas = document["components"]["schemas"]
    schemes = document["components"]["securitySchemes"]

    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for path, item in document["paths"].items():
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
            assert operation["responses"], (method, path)
            for requirement in operation.get("security", []):
                assert set(requirement) <= set(schemes), (method, path)


async def test_errors_are_documented_as_problems(roombot: RoomBot) -> None:
    document = await openapi(roombot)

    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    connect = document["paths"]["/api/rooms/{roomId}/connect"]["post"]["responses"]
    assert {"200", "202", "401", "403", "404"} <= set(connect)
    assert "application/problem+json" in connect["404"]["content"]


async def test_the_document_passes_the_openapi_validator(roombot: RoomBot) -> None:
    validator = pytest.importorskip(
        "openapi_spec_validator", reason="openapi-spec-validator is not installed"
    )

    validator.validate(await openapi(roombot))


def test_with_every_installed_handler_the_document_matches_the_router() -> None:
    # The packaged menus speak text: ACS needs an AI services endpoint for them.
    app = create_app(IsolatedSettings(cognitive_services_endpoint="https://ai.example.invalid/"))

    assert documented(build_document(app[keys.HANDLERS])) == served(app)
