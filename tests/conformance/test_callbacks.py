"""Callbacks as ACS delivers them: signed, ordered per connection, each connection its own."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from aiohttp import web
from azure.core.exceptions import ResourceNotFoundError
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.config import ACS_CALLBACK_ISSUER
from emulator.keys import CALLBACKS, SIGNER
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import (
    CallAutomationApi,
    CallbackKeys,
    ClientKind,
    add_room,
    audience,
    check_callbacks,
    connection_id,
    events_named,
    join,
    leave,
    names,
    parse_callback_event,
    received,
)
from tests.support.callback_sink import CallbackSink, ReceivedPost


@pytest.fixture
def kind() -> ClientKind:
    # What is tested here is the emulator's side; the async client alone is enough.
    return "async"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_every_callback_carries_a_fresh_token_that_verifies_against_the_published_keys(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    props = await calls.connect(sink.url("/bot"), room_id=room.id)
    await sink.wait_for(received("/bot", "ParticipantsUpdated"))
    await join(emulator, room.id, room.members[1])
    await calls.hang_up(connection_id(props), is_for_everyone=True)
    await sink.wait_for(received("/bot", "CallDisconnected"))

    assert keys.issuer == ACS_CALLBACK_ISSUER
    check_callbacks(sink, keys, audience(emulator))
    tokens = [post.headers["Authorization"] for post in sink.posts]
    assert len(set(tokens)) == len(tokens) >= 2
    for token in tokens:
        claims = keys.verify(token, audience(emulator))
        assert claims["exp"] - claims["iat"] == 300
        assert claims["nbf"] <= datetime.now(UTC).timestamp() < claims["exp"]


async def test_a_token_is_refused_for_another_audience_and_a_forged_one_is_refused(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    await calls.connect(sink.url("/bot"), room_id=room.id)
    post = await sink.wait_for(lambda s: next(iter(s.posts), None))
    authorization = post.headers["Authorization"]

    with pytest.raises(jwt.InvalidAudienceError):
        keys.verify(authorization, "another-resource-id")
    claims = keys.verify(authorization, audience(emulator))
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(authorization.removeprefix("Bearer "))["kid"]
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": kid})
    with pytest.raises(jwt.InvalidSignatureError):
        keys.verify(f"Bearer {forged}", audience(emulator))
    # A token the emulator signed six minutes ago has outlived its five minutes.
    stale = emulator.app[SIGNER].mint(
        issuer=keys.issuer,
        audience=audience(emulator),
        now=datetime.now(UTC) - timedelta(minutes=6),
        lifetime_seconds=emulator.config.callback_token_lifetime_seconds,
    )
    with pytest.raises(jwt.ExpiredSignatureError):
        keys.verify(f"Bearer {stale}", audience(emulator))


async def test_connect_sends_call_connected_then_participants_updated_with_the_call_data(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    room = add_room(emulator)
    server_call_id = await join(emulator, room.id, room.members[0])

    props = await calls.connect(sink.url("/bot"), room_id=room.id, operation_context="bot:join")

    await sink.wait_for(received("/bot", "ParticipantsUpdated"))
    check_callbacks(sink, keys, audience(emulator))
    (connected_name, connected), (updated_name, updated) = map(parse_callback_event, sink.events("/bot"))
    assert (connected_name, updated_name) == ("CallConnected", "ParticipantsUpdated")
    assert connected.call_connection_id == updated.call_connection_id == props.call_connection_id
    assert connected.server_call_id == updated.server_call_id == server_call_id
    # The events carry the call's correlation id, as GET does; the connect answer carried the
    # connect request's own (recorded live traffic).
    assert props.call_connection_id is not None
    fetched = await calls.get_call_properties(props.call_connection_id)
    assert connected.correlation_id == updated.correlation_id == fetched.correlation_id
    assert connected.correlation_id != props.correlation_id
    assert connected.operation_context == "bot:join"
    assert connected.result_information.code == 200
    assert connected.result_information.sub_code == 0
    assert [p.identifier.raw_id for p in updated.participants] == [room.members[0]]
    assert updated.participants[0].identifier.kind == "communicationUser"
    assert updated.participants[0].identifier.communication_user.id == room.members[0]


async def test_joins_and_leaves_send_participants_updated_with_increasing_sequence_numbers(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    room = add_room(emulator, ["Presenter", "Attendee", "Consumer"])
    await join(emulator, room.id, room.members[0])
    await calls.connect(sink.url("/bot"), room_id=room.id)
    await sink.wait_for(received("/bot", "ParticipantsUpdated"))

    await join(emulator, room.id, room.members[1])
    await join(emulator, room.id, room.members[2])
    await leave(emulator, room.id, room.members[0])

    await sink.wait_for(received("/bot", "ParticipantsUpdated", 4))
    updates = events_named(sink, "/bot", "ParticipantsUpdated")
    check_callbacks(sink, keys, audience(emulator))
    models = [parse_callback_event(event)[1] for event in updates]
    sequence = [m.sequence_number for m in models]
    assert sequence == sorted(set(sequence))
    assert [[p.identifier.raw_id for p in m.participants] for m in models] == [
        room.members[:1],
        room.members[:2],
        room.members[:3],
        room.members[1:3],
    ]


async def test_two_connections_to_one_call_each_get_their_own_events_at_their_own_uri(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    first = await calls.connect(sink.url("/first"), room_id=room.id)
    second = await calls.connect(sink.url("/second"), room_id=room.id)
    await sink.wait_for(received("/first", "ParticipantsUpdated"))
    await sink.wait_for(received("/second", "ParticipantsUpdated"))

    await join(emulator, room.id, room.members[1])

    for path, props in (("/first", first), ("/second", second)):
        await sink.wait_for(received(path, "ParticipantsUpdated", 2))
        assert names(sink, path) == ["CallConnected", "ParticipantsUpdated", "ParticipantsUpdated"]
        assert {e["data"]["callConnectionId"] for e in sink.events(path)} == {props.call_connection_id}
        assert {e["subject"] for e in sink.events(path)} == {
            f"calling/callConnections/{props.call_connection_id}"
        }
    check_callbacks(sink, keys, audience(emulator))
    assert first.call_connection_id != second.call_connection_id
    # One call, one correlation id, whichever connection asks.
    assert first.call_connection_id is not None
    assert second.call_connection_id is not None
    first_call = await calls.get_call_properties(first.call_connection_id)
    second_call = await calls.get_call_properties(second.call_connection_id)
    assert first_call.correlation_id == second_call.correlation_id
    assert {e["data"]["correlationId"] for path in ("/first", "/second") for e in sink.events(path)} == {
        first_call.correlation_id
    }


async def test_nothing_follows_call_disconnected(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    ended = await calls.connect(sink.url("/ended"), room_id=room.id)
    await sink.wait_for(received("/ended", "ParticipantsUpdated"))

    await calls.hang_up(connection_id(ended), is_for_everyone=True)
    # The room's next call, with its own connection and more participant changes.
    await join(emulator, room.id, room.members[0])
    await calls.connect(sink.url("/next"), room_id=room.id)
    await sink.wait_for(received("/next", "ParticipantsUpdated"))
    await join(emulator, room.id, room.members[1])
    await leave(emulator, room.id, room.members[0])
    await emulator.app[CALLBACKS].drain()

    assert names(sink, "/ended") == ["CallConnected", "ParticipantsUpdated", "CallDisconnected"]
    disconnected = parse_callback_event(sink.events("/ended")[-1])[1]
    assert disconnected.result_information.code == 200
    assert names(sink, "/next") == [
        "CallConnected",
        "ParticipantsUpdated",
        "ParticipantsUpdated",
        "ParticipantsUpdated",
    ]
    check_callbacks(sink, keys, audience(emulator))


async def test_the_last_participant_leaving_disconnects_every_connection(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    await calls.connect(sink.url("/first"), room_id=room.id)
    await calls.connect(sink.url("/second"), room_id=room.id)
    await sink.wait_for(received("/first", "ParticipantsUpdated"))
    await sink.wait_for(received("/second", "ParticipantsUpdated"))

    await leave(emulator, room.id, room.members[0])

    for path in ("/first", "/second"):
        await sink.wait_for(received(path, "CallDisconnected"))
    await emulator.app[CALLBACKS].drain()
    assert names(sink, "/first")[-1] == names(sink, "/second")[-1] == "CallDisconnected"
    check_callbacks(sink, keys, audience(emulator))


@pytest.mark.parametrize(
    "locator",
    [
        pytest.param("room", id="room-without-a-running-call"),
        pytest.param("server", id="unknown-server-call-id"),
        pytest.param("group", id="group-call"),
    ],
)
async def test_connecting_where_no_call_runs_answers_connecting_then_connect_failed(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys, locator: str
) -> None:
    room = add_room(emulator)
    arguments = {
        "room": {"room_id": room.id},
        "server": {"server_call_id": "aHR0cHM6Ly9ub3doZXJlLmludmFsaWQvY29udi94"},
        "group": {"group_call_id": str(uuid.uuid4())},
    }[locator]

    props = await calls.connect(sink.url("/bot"), operation_context="try", **arguments)

    assert props.call_connection_state == "connecting"
    await sink.wait_for(received("/bot", "ConnectFailed"))
    await emulator.app[CALLBACKS].drain()
    assert names(sink, "/bot") == ["ConnectFailed"]
    check_callbacks(sink, keys, audience(emulator))
    failed = parse_callback_event(sink.events("/bot")[0])[1]
    assert failed.call_connection_id == props.call_connection_id
    assert failed.operation_context == "try"
    assert (failed.result_information.code, failed.result_information.sub_code) == (404, 8522)
    with pytest.raises(ResourceNotFoundError):
        await calls.get_call_properties(connection_id(props))
    # A call that starts afterwards has nothing to do with the failed connection.
    await join(emulator, room.id, room.members[0])
    await emulator.app[CALLBACKS].drain()
    assert names(sink, "/bot") == ["ConnectFailed"]


async def test_a_slow_callback_endpoint_stalls_only_its_own_connection(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    release = asyncio.Event()

    async def hold(post: ReceivedPost) -> web.StreamResponse:
        await release.wait()
        return web.Response()

    sink.respond("/slow", hold)
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    await calls.connect(sink.url("/slow"), room_id=room.id)
    await calls.connect(sink.url("/fast"), room_id=room.id)
    await sink.wait_for(received("/fast", "ParticipantsUpdated"))
    await sink.wait_for(lambda s: s.posts_to("/slow"))

    await join(emulator, room.id, room.members[1])
    await leave(emulator, room.id, room.members[1])

    await sink.wait_for(received("/fast", "ParticipantsUpdated", 3))
    # The slow endpoint still holds its first POST; its later events wait behind it, in order.
    assert len(sink.posts_to("/slow")) == 1
    release.set()
    await sink.wait_for(received("/slow", "ParticipantsUpdated", 3))
    assert names(sink, "/slow") == names(sink, "/fast")
    check_callbacks(sink, keys, audience(emulator))


async def test_a_dead_callback_endpoint_is_retried_then_dropped_without_touching_others(
    emulator: RunningEmulator,
    calls: CallAutomationApi,
    sink: CallbackSink,
    keys: CallbackKeys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/callbacks"
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])
    caplog.set_level(logging.WARNING, logger="roombot.emulator.callbacks")

    await calls.connect(dead, room_id=room.id)
    await calls.connect(sink.url("/alive"), room_id=room.id)

    await sink.wait_for(received("/alive", "ParticipantsUpdated"))
    await emulator.app[CALLBACKS].drain()
    assert any(
        "dropped after 4 attempts" in r.getMessage() and dead in r.getMessage() for r in caplog.records
    )
    check_callbacks(sink, keys, audience(emulator))


async def test_server_errors_are_retried_with_a_fresh_token_until_accepted(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink, keys: CallbackKeys
) -> None:
    failures = 2

    async def flaky(post: ReceivedPost) -> web.StreamResponse:
        nonlocal failures
        if failures:
            failures -= 1
            return web.Response(status=503)
        return web.Response()

    sink.respond("/flaky", flaky)
    room = add_room(emulator)
    await join(emulator, room.id, room.members[0])

    await calls.connect(sink.url("/flaky"), room_id=room.id)

    await sink.wait_for(received("/flaky", "ParticipantsUpdated"))
    await emulator.app[CALLBACKS].drain()
    posts = sink.posts_to("/flaky")
    # CallConnected twice refused, then accepted; ParticipantsUpdated after it, in its own POST.
    assert names(sink, "/flaky") == ["CallConnected"] * 3 + ["ParticipantsUpdated"]
    assert len({p.raw for p in posts[:3]}) == 1
    assert len({p.headers["Authorization"] for p in posts}) == 4
    check_callbacks(sink, keys, audience(emulator))
