"""Requests a replica that does not lead passes on to the leader, so any replica takes any request.

Callbacks are taken in by every replica (their events go to the shared inbox, which the leader
processes); health, metrics and the API description answer locally. Every other ``/api`` and
``/ops`` request changes or reads what the leader drives, so a replica that does not lead sends it
to the leader's URL and hands back the answer as it came. The load balancer needs nothing sticky.
A request that arrives while no leader is known (an election under way) is 503 with Retry-After.
"""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import CIMultiDict

from bot import keys
from bot.cluster.election import Election
from bot.problems import ProblemError

logger = logging.getLogger(f"roombot.{__name__}")

FORWARDED_HEADER = "X-Roombot-Forwarded-By"
LOCAL_PATHS = frozenset({"/api/callbacks", "/healthz", "/readyz", "/metrics", "/openapi.json"})
# Hop-by-hop headers (RFC 9110 section 7.6.1) and those aiohttp sets itself.
NOT_FORWARDED = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host", "content-length"}
)
ELECTION_RETRY_AFTER_SECONDS = 2
FORWARD_TIMEOUT = aiohttp.ClientTimeout(total=60)
# Answers that never end on their own: the operator console's live feed.
STREAMED_PATHS = frozenset({"/ops/events"})


def needs_leader(path: str) -> bool:
    return path not in LOCAL_PATHS and (path.startswith("/api/") or path.startswith("/ops/"))


@web.middleware
async def forward_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    election = request.app.get(keys.ELECTION)
    if election is None or not election.shared or election.acting() or not needs_leader(request.path):
        return await handler(request)
    if FORWARDED_HEADER in request.headers:
        # Passed on by a replica that took us for the leader: we lost it meanwhile.
        raise _electing("The replica this request was passed to no longer leads.")
    leader = await election.leader()
    if leader is None or not leader.get("url") or leader.get("replica") == election.replica_id:
        raise _electing("No replica leads right now; an election is under way.")
    return await _forward(request, str(leader["url"]).rstrip("/"), election, request.app[keys.HTTP])


def _electing(detail: str) -> ProblemError:
    return ProblemError(503, "No leader", detail, headers={"Retry-After": str(ELECTION_RETRY_AFTER_SECONDS)})


async def _forward(
    request: web.Request, leader_url: str, election: Election, session: aiohttp.ClientSession
) -> web.StreamResponse:
    headers = CIMultiDict(
        (name, value) for name, value in request.headers.items() if name.lower() not in NOT_FORWARDED
    )
    headers[FORWARDED_HEADER] = election.replica_id
    body = await request.read()
    try:
        async with session.request(
            request.method,
            leader_url + request.path_qs,
            headers=headers,
            data=body if body else None,
            # A live feed (server-sent events) lasts as long as its reader: no total time limit.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10)
            if request.path in STREAMED_PATHS
            else FORWARD_TIMEOUT,
            allow_redirects=False,
        ) as reply:
            kept = CIMultiDict(
                (name, value) for name, value in reply.headers.items() if name.lower() not in NOT_FORWARDED
            )
            kept.popall("Content-Encoding", None)
            if reply.content_type == "text/event-stream":
                return await _stream(request, reply, kept)
            payload = await reply.read()
            return web.Response(status=reply.status, headers=kept, body=payload)
    except (aiohttp.ClientError, TimeoutError) as exc:
        logger.warning("cannot pass %s on to the leader at %s: %s", request.path, leader_url, exc)
        raise _electing("The leader does not answer; try again shortly.") from None


async def _stream(
    request: web.Request, reply: aiohttp.ClientResponse, headers: CIMultiDict[str]
) -> web.StreamResponse:
    """Pass a live feed on chunk by chunk, for as long as both ends stay."""
    response = web.StreamResponse(status=reply.status, headers=headers)
    await response.prepare(request)
    async for chunk in reply.content.iter_any():
        await response.write(chunk)
    await response.write_eof()
    return response
