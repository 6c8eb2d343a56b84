"""The HTTP server's own error answers as problem+json.

A request that aiohttp's HTTP parser refuses (a bad request line or method, a header without a
colon or over 8190 bytes, a malformed Content-Length or chunk) never reaches the application or
its middlewares: aiohttp's `RequestHandler.handle_error` answers it, in text/plain, and logs a
traceback. `ProblemAppRunner` serves the app with a request handler whose `handle_error` answers
`application/problem+json` like every other error of the API, and logs one line instead.
What aiohttp cannot answer at all (a connection closed mid-request) stays unanswered.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from bot.problems import problem_response

logger = logging.getLogger(f"roombot.{__name__}")

MAX_DETAIL_CHARS = 120


def _first_line(message: str | None) -> str:
    """The parser's reason without the bytes it quotes (they are the client's, possibly long)."""
    line = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    return line.split(": b'", 1)[0].split(' b"', 1)[0].rstrip(":").strip()[:MAX_DETAIL_CHARS]


class ProblemRequestHandler(RequestHandler):
    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
            detail = "The server failed to answer this request; it was logged."
        else:
            reason = _first_line(message) or type(exc).__name__
            logger.info("refused a malformed request from %s: %s", request.remote, reason)
            detail = f"The request is not valid HTTP: {reason}."
        if request.writer.output_size > 0:
            # As aiohttp's own handler: part of an answer went out, the connection is broken.
            raise ConnectionError("Response is sent already, cannot send another response")
        response = problem_response(status, detail=detail)
        response.force_close()
        return response


class ProblemServer(web.Server):
    def __call__(self) -> RequestHandler:
        return ProblemRequestHandler(self, loop=self._loop, **self._kwargs)


class ProblemAppRunner(web.AppRunner):
    """`web.AppRunner` whose server answers the parser's errors with problem+json."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The same server, built by aiohttp with the app's handler and settings, as the subclass.
        server.__class__ = ProblemServer
        return server
