"""ACS error bodies: `{"error": {"code", "message", "target", "details", "innererror"}}`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(f"roombot.{__name__}")

# Call Automation's answers name no ``x-ms-error-code`` (recorded live traffic,
# ``Azure/azure-sdk-assets``: the .NET Call Automation live tests' 404 of a ``:terminate``);
# Rooms and Identity's mostly do.
CALL_AUTOMATION_PREFIX = "/calling/"


class AcsError(Exception):
    """Raised by emulator routes; the error middleware turns it into the ACS error answer."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        innererror: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        error_code_header: bool = True,
        target_is_path: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.innererror = innererror
        self.headers = headers or {}
        # Most answers repeat the code in ``x-ms-error-code``; the Rooms service's model
        # validation errors do not (recorded live traffic).
        self.error_code_header = error_code_header
        # The target is the path of the request answered (``response(path)``), as Call
        # Automation's "call not found" names it.
        self.target_is_path = target_is_path

    def body(self, path: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        target = path if self.target_is_path and path is not None else self.target
        if target is not None:
            error["target"] = target
        if self.details is not None:
            error["details"] = self.details
        if self.innererror is not None:
            error["innererror"] = self.innererror
        return {"error": error}

    def response(self, path: str | None = None) -> web.Response:
        """The answer to a request for ``path``."""
        with_code = self.error_code_header and not (path or "").startswith(CALL_AUTOMATION_PREFIX)
        headers = {"x-ms-error-code": self.code, **self.headers} if with_code else self.headers
        return web.json_response(self.body(path), status=self.status, headers=headers)


# The top-level message of the Rooms service's model validation errors.
MALFORMED_SYNTAX = "The request could not be understood by the server due to malformed syntax."


def bad_argument(message: str, target: str) -> AcsError:
    """The 400 that the Rooms API gives for a field that fails validation: a generic message,
    the field in ``details``, no ``x-ms-error-code`` header (recorded live traffic,
    ``Azure/azure-sdk-assets``, Rooms tests ``test_update_room_exceed_max_timerange`` and
    ``test_add_or_update_room_wrongRoleName``)."""
    return AcsError(
        400,
        "BadRequest",
        MALFORMED_SYNTAX,
        details=[{"code": "BadArgument", "message": message, "target": target}],
        error_code_header=False,
    )


def bad_request(message: str) -> AcsError:
    """The 400 the Rooms API gives for a request it rejects after validation: code and message
    only, e.g. "Invalid room ID length.", "Invalid format for communication identifier."."""
    return AcsError(400, "BadRequest", message)


async def read_json_object(
    request: web.Request, *, required: bool = True, error: Callable[[str, str], AcsError] = bad_argument
) -> dict[str, Any]:
    """The request body as a JSON object; ``error`` (message, target) when it is malformed or
    not an object, or missing and ``required`` (else a missing body counts as ``{}``)."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise error("The request body is required.", "body")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise error("The request body is not valid JSON.", "body") from None
    if not isinstance(body, dict):
        raise error("The request body must be a JSON object.", "body")
    return body


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer AcsError with its ACS body, and aiohttp's own HTTP errors in the same shape. Any
    other exception is an emulator bug: it is logged with its traceback and answered 500 in the
    ACS shape, so that clients parse it like any other error and see no traceback."""
    try:
        response: web.StreamResponse = await handler(request)
    except AcsError as exc:
        return exc.response(request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = "NotFound" if exc.status == 404 else exc.reason.replace(" ", "")
        return AcsError(exc.status, code, exc.text or exc.reason).response()
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        message = f"The emulator failed to process {request.method} {request.path}; its log has the cause."
        return AcsError(500, "InternalServerError", message).response()
    return response


def not_supported(operation: str) -> AcsError:
    """The 501 of an ACS operation (or option) the emulator does not run, naming it, so that a
    client tells "the emulator cannot" from "the call is not there"."""
    return AcsError(
        501,
        "NotSupportedByEmulator",
        f"The emulator does not support {operation}; run it against a real ACS resource.",
        target=operation,
    )


def invalid(message: str, target: str | None = None) -> AcsError:
    """The Call Automation 400 with its generic "invalid argument" subcode 8523."""
    return AcsError(400, "8523", message, target=target)
