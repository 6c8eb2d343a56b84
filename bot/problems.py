"""RFC 9457 problem details: every error the bot's HTTP API answers, and reading JSON bodies.

Routes raise `ProblemError` for their own domain errors; the middleware also dresses aiohttp's
HTTP errors (unknown route, wrong method, body too large) the same way, and turns anything else
into a bare 500: a stack trace never leaves the process. (Requests too malformed to reach the
app, refused by aiohttp's HTTP parser, get problem+json from `bot.http_server`.)

JSON bodies are parsed by :func:`loads_json` with orjson (the callback route parses every
delivery), bounded so that no body can make the bot fail: nesting deeper than ``MAX_JSON_DEPTH``
(orjson itself stops at 1,024), numbers beyond a double's range (a 5,000-digit integer, ``1e400``),
the non-JSON constants ``NaN`` and ``Infinity``, strings with an unpaired surrogate escape, and
bytes that are not UTF-8 are all 400. (orjson reads integers beyond 64 bits as floats; no field of
this API or of ACS's events comes near.)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from pydantic import BaseModel, ValidationError

from bot.state.base import StateStoreError

# A store that does not answer is usually back within seconds (a restart, a failover).
STORE_RETRY_AFTER_SECONDS = 5
log = logging.getLogger(f"roombot.{__name__}")

PROBLEM_CONTENT_TYPE = "application/problem+json"
# RFC 9457 §4.2: "about:blank" means the problem is just what the status code says.
BLANK_TYPE = "about:blank"
VALIDATION_TYPE = "urn:roombot:problem:validation"
# Headers of aiohttp's errors that the client still needs on the problem answer.
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After", "Location")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)
# Deeper than any body of this API or of ACS and Event Grid (about 6 levels), far from Python's
# recursion limit.
MAX_JSON_DEPTH = 32
MALFORMED = "Malformed JSON"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    type_: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """An `application/problem+json` answer `{type, title, status, detail, ...extra}`."""
    body: dict[str, Any] = dict(extra or {})
    # The standard members win over extensions of the same name.
    body.update(
        type=type_ or BLANK_TYPE,
        title=title or _reason(status),
        status=status,
        detail=detail or _reason(status),
    )
    return web.json_response(body, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


class ProblemError(Exception):
    """A request failed in a way the client should know about; raised by routes and helpers."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        type_: str | None = None,
        extra: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type_ = type_
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        return problem_response(
            self.status, self.title, self.detail, type_=self.type_, extra=self.extra, headers=self.headers
        )


def _http_exception_detail(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"No resource at {request.path}."
    if exc.status == 405:
        allowed = exc.headers.get("Allow", "")
        return f"{request.method} is not allowed on {request.path}; allowed: {allowed or 'none'}."
    text = exc.text or ""
    # aiohttp's default text is just "<status>: <reason>"; prefer a sentence when it has one.
    return text if text and not text.startswith(f"{exc.status}:") else _reason(exc.status)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every error as problem+json, and never with a stack trace."""
    try:
        return await handler(request)
    except ProblemError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {name: exc.headers[name] for name in KEPT_HEADERS if name in exc.headers}
        return problem_response(exc.status, exc.reason, _http_exception_detail(request, exc), headers=headers)
    except StateStoreError as exc:
        # Ours, not the client's, and passing: Redis restarting, its pool exhausted, a locked file.
        log.error("state store unavailable answering %s %s: %s", request.method, request.path, exc)
        return problem_response(
            503,
            "State store unavailable",
            "The bot cannot reach its state store right now; try again shortly.",
            headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )
    except RequestPayloadError as exc:
        # The body could not be decoded (a Content-Encoding that lies, a broken chunk).
        log.info("unreadable body of %s %s: %s", request.method, request.path, exc)
        return problem_response(400, "Unreadable body", "The request body could not be read or decoded.")
    except ConnectionResetError:
        # The client closed the connection before its body was complete: nobody reads an answer.
        log.info("%s %s: the client went away before its body was complete", request.method, request.path)
        return problem_response(400, "Incomplete body", "The connection closed before the body was complete.")
    except Exception:
        log.exception("unhandled error answering %s %s", request.method, request.path)
        return problem_response(500, detail="The server failed to answer this request; it was logged.")


def _field_name(loc: tuple[int | str, ...]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def validation_problem(exc: ValidationError) -> ProblemError:
    """A 422 naming each bad field (by its JSON name) and what is wrong with it."""
    errors = [
        {"field": _field_name(error["loc"]), "message": error["msg"].removeprefix("Value error, ")}
        for error in exc.errors(include_url=False, include_input=False)
    ]
    detail = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
    return ProblemError(422, "Invalid request body", detail, VALIDATION_TYPE, {"errors": errors})


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` deep, walked one level at a time (a JSON body is
    wide, not deep: most of its values are leaves, never pushed anywhere)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        children: list[Any] = []
        for node in level:
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, dict | list):
                    children.append(child)
        if not children:
            return False
        level = children
    return True


def _malformed(raw: bytes, exc: orjson.JSONDecodeError, title: str) -> ProblemError:
    """The 400 for a body orjson refused, saying why in words that do not depend on its messages."""
    try:
        raw.decode()
    except UnicodeDecodeError:
        return ProblemError(400, title, "The body is not UTF-8 text.")
    if exc.msg.startswith("depth limit"):
        return ProblemError(400, title, f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels.")
    if "infinity" in exc.msg:
        return ProblemError(400, title, "The JSON holds a number too large for any field.")
    return ProblemError(400, title, f"{exc.msg} at line {exc.lineno} column {exc.colno}.")


def loads_json(raw: bytes, *, title: str = MALFORMED) -> Any:
    """``raw`` parsed as JSON, or a 400 ProblemError (titled ``title``) saying what is wrong."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _malformed(raw, exc, title) from exc
    # Nesting needs a bracket per level: a body with few brackets (strings included) needs no walk.
    brackets = raw.count(b"[") + raw.count(b"{")
    if brackets > MAX_JSON_DEPTH and _depth_exceeds(data, MAX_JSON_DEPTH):
        raise ProblemError(400, title, f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels.")
    return data


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def read_json(request: web.Request, model: type[M]) -> M:
    """Parse the request's JSON body into `model`, or raise the matching ProblemError.

    Wrong content type → 415, malformed (or unbounded, see :func:`loads_json`) JSON → 400,
    invalid fields → 422 naming the fields. A body over the app's `client_max_size` surfaces as
    aiohttp's 413.
    """
    if not _is_json(request.content_type):
        raise ProblemError(
            415,
            "Unsupported media type",
            f"The body must be application/json, not {request.content_type or 'missing'}.",
            headers={"Accept-Post": "application/json"},
        )
    raw = await request.read()
    if not raw.strip():
        raise ProblemError(400, MALFORMED, "The request needs a JSON body.")
    data = loads_json(raw)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from exc
