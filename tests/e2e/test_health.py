"""`/healthz`, `/readyz` and `/metrics`: what a load balancer and Prometheus see."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.testing import OPS_KEY, RoomBot
from tests.e2e.helpers import LiveCall, assert_problem


async def sample(roombot: RoomBot, name: str, **labels: str) -> float:
    """The value of one sample of ``/metrics``; 0 when it has not been counted yet."""
    reply = await roombot.request("GET", "/metrics")
    assert reply.status == 200, reply.text
    assert reply.content_type == "text/plain"
    for family in text_string_to_metric_families(reply.text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


async def test_healthz_answers_while_the_process_is_up(roombot: RoomBot) -> None:
    reply = await roombot.request("GET", "/healthz")

    assert reply.status == 200
    assert reply.body["status"] == "ok"
    # Alone on its store, the bot leads itself.
    assert reply.body["leading"] is True
    assert isinstance(reply.body["replica"], str)


async def test_readyz_is_200_when_state_and_acs_answer(roombot: RoomBot) -> None:
    reply = await roombot.request("GET", "/readyz")

    assert reply.status == 200, reply.text
    assert reply.body == {"status": "ready"}


async def test_readyz_is_503_when_acs_is_gone_and_healthz_stays_200(roombot: RoomBot) -> None:
    await roombot.stop_emulator()

    ready = await roombot.request("GET", "/readyz")

    assert "ACS" in assert_problem(ready, 503)["detail"]
    assert (await roombot.request("GET", "/healthz")).status == 200


async def test_callback_counters_increase_with_deliveries(live_call: LiveCall, roombot: RoomBot) -> None:
    accepted = await sample(roombot, "roombot_callback_requests_total", outcome="accepted")
    connected = await sample(roombot, "roombot_events_total", type="CallConnected", outcome="dispatched")
    assert accepted >= 1
    assert connected == 1

    await roombot.join(live_call.room.id, live_call.room.members[1])
    await roombot.wait_for_call(live_call.id, lambda call: len(call["participants"]) == 2)

    assert await sample(roombot, "roombot_callback_requests_total", outcome="accepted") > accepted
    assert await sample(roombot, "roombot_live_calls") == 1


async def test_malformed_and_duplicate_callbacks_are_counted(live_call: LiveCall, roombot: RoomBot) -> None:
    before = await sample(roombot, "roombot_callback_requests_total", outcome="malformed")
    await roombot.request("POST", "/api/callbacks", data=b"{", key=roombot.callback_token())
    detail = await roombot.call(live_call.id)
    assert detail is not None
    first = next(event for event in detail["events"] if event["type"] == "CallConnected")

    reply = await roombot.post_callbacks([{"id": first["id"], "type": "Microsoft.Communication.CallConnected",
                                           "data": {"callConnectionId": live_call.id}}])  # fmt: skip

    assert reply.body == {"received": 1, "accepted": 0}
    assert await sample(roombot, "roombot_callback_requests_total", outcome="malformed") == before + 1
    assert await sample(roombot, "roombot_events_total", type="CallConnected", outcome="duplicate") == 1


async def test_acs_actions_and_http_requests_are_measured(live_call: LiveCall, roombot: RoomBot) -> None:
    # Connecting the live call asked ACS to connect, and the bot's routes answered requests.
    assert await sample(roombot, "roombot_acs_actions_total", action="connect", outcome="ok") >= 1
    await roombot.request("GET", f"/ops/calls/{live_call.id}", key=OPS_KEY)

    # By route template, never by raw path (which would name every call).
    count = await sample(
        roombot, "roombot_http_request_seconds_count", route="/ops/calls/{callConnectionId}", status="2xx"
    )
    assert count >= 1
    assert (
        await sample(roombot, "roombot_http_request_seconds_count", route="/api/callbacks", status="2xx") >= 1
    )
