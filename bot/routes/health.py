"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot import keys
from bot.problems import ProblemError

logger = logging.getLogger(f"roombot.{__name__}")
routes = web.RouteTableDef()

READY_TIMEOUT_SECONDS = 5.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Up, and whether this replica leads the others (it then drives the calls)."""
    election = request.app.get(keys.ELECTION)
    body: dict[str, object] = {"status": "ok"}
    if election is not None:
        body |= {"replica": election.replica_id, "leading": election.acting()}
    return web.json_response(body)


async def _check(name: str, probe: asyncio.Future[None] | asyncio.Task[None]) -> str | None:
    try:
        await asyncio.wait_for(probe, READY_TIMEOUT_SECONDS)
    except Exception as exc:
        logger.warning("readiness check %s failed: %s", name, exc)
        return f"{name}: {exc or type(exc).__name__}"
    return None


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    store = request.app[keys.STORE]
    acs = request.app[keys.ACS]
    failures = [
        failure
        for failure in await asyncio.gather(
            _check("state store", asyncio.ensure_future(store.ping())),
            _check("ACS", asyncio.ensure_future(acs.ping())),
        )
        if failure is not None
    ]
    if failures:
        raise ProblemError(503, "Not ready", "; ".join(failures))
    return web.json_response({"status": "ready"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    registry = request.app[keys.REGISTRY]
    collected = request.app[keys.METRICS]
    # Counted through the store's live-call index: no record is read.
    collected.live_calls.set(await registry.count_live())
    body = generate_latest(collected.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
