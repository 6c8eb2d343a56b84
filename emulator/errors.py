"""ACS error bodies: `{"error": {"code", "message", "target", "details", "innererror"}}`."""

from __future__ import annotations

from typing import Any

from aiohttp import web


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
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.innererror = innererror
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        if self.details is not None:
            error["details"] = self.details
        if self.innererror is not None:
            error["innererror"] = self.innererror
        return {"error": error}

    def response(self) -> web.Response:
        headers = {"x-ms-error-code": self.code, **self.headers}
        return web.json_response(self.body(), status=self.status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer AcsError with its ACS body, and aiohttp's own HTTP errors in the same shape."""
    try:
        response: web.StreamResponse = await handler(request)
    except AcsError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = "NotFound" if exc.status == 404 else exc.reason.replace(" ", "")
        return AcsError(exc.status, code, exc.text or exc.reason).response()
    return response
