"""The dial-out API refuses what it cannot do, with a problem naming why, and dials nothing."""

from __future__ import annotations

import uuid

import pytest

from bot.testing import BACKEND_KEY, OPS_KEY, CreatedRoom
from tests.e2e.dialout.support import INTERPRETER, DialOutBed, dialout_bed
from tests.e2e.helpers import assert_problem


async def assert_nothing_dialled(bed: DialOutBed) -> None:
    assert await bed.add_requests() == []


async def test_a_room_that_forbids_dial_out_is_409(bed: DialOutBed) -> None:
    room = await bed.room(pstn=False)

    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER})

    body = assert_problem(reply, 409)
    assert "pstnDialOutEnabled" in body["detail"]
    await assert_nothing_dialled(bed)


@pytest.mark.parametrize(
    "number", ["+1425555012", "14255550123", "+1 (425) 555-01234", "interpreter", "+999123456789"]
)
async def test_an_invalid_number_is_422_naming_the_field(
    bed: DialOutBed, room: CreatedRoom, number: str
) -> None:
    reply = await bed.dial(room.id, {"phoneNumber": number})

    body = assert_problem(reply, 422)
    assert [error["field"] for error in body["errors"]] == ["phoneNumber"]
    await assert_nothing_dialled(bed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phoneNumber": INTERPRETER, "callerId": "+1"}, "callerId"),
        ({"phoneNumber": INTERPRETER, "ringTimeoutSeconds": 0}, "ringTimeoutSeconds"),
        ({"phoneNumber": INTERPRETER, "ringTimeoutSeconds": 181}, "ringTimeoutSeconds"),
        ({"phoneNumber": INTERPRETER, "ringTimeoutSeconds": "30"}, "ringTimeoutSeconds"),
        ({"phoneNumber": INTERPRETER, "confirmWithDtmf": "yes"}, "confirmWithDtmf"),
        ({"phoneNumber": INTERPRETER, "announcement": {"text": "a", "ssml": "<speak/>"}}, "announcement"),
        ({"phoneNumber": INTERPRETER, "interpreter": True}, "interpreter"),
        ({}, "phoneNumber"),
    ],
)
async def test_bad_fields_are_422_naming_them(
    bed: DialOutBed, room: CreatedRoom, body: dict[str, object], field: str
) -> None:
    reply = await bed.dial(room.id, body)

    problem = assert_problem(reply, 422)
    assert field in {error["field"] for error in problem["errors"]}
    await assert_nothing_dialled(bed)


async def test_a_missing_idempotency_key_is_400(bed: DialOutBed, room: CreatedRoom) -> None:
    reply = await bed.roombot.request(
        "POST", f"/api/rooms/{room.id}/dialouts", key=BACKEND_KEY, json={"phoneNumber": INTERPRETER}
    )

    body = assert_problem(reply, 400)
    assert "Idempotency-Key" in body["detail"]
    await assert_nothing_dialled(bed)


async def test_a_too_long_idempotency_key_is_400(bed: DialOutBed, room: CreatedRoom) -> None:
    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER}, key="k" * 256)

    assert_problem(reply, 400)
    await assert_nothing_dialled(bed)


async def test_the_same_key_with_another_body_is_422(bed: DialOutBed, room: CreatedRoom) -> None:
    await bed.phone(INTERPRETER, answer="noAnswer")
    first = await bed.dial(room.id, {"phoneNumber": INTERPRETER, "ringTimeoutSeconds": 180}, key="k-1")
    assert first.status == 202, first.text

    other = await bed.dial(room.id, {"phoneNumber": "+14255550199", "ringTimeoutSeconds": 180}, key="k-1")

    body = assert_problem(other, 422)
    assert first.body["id"] in body["detail"]
    assert len(await bed.invitations(room.id)) == 1


async def test_an_unknown_room_is_404(bed: DialOutBed) -> None:
    reply = await bed.dial("99999999999999", {"phoneNumber": INTERPRETER})

    assert_problem(reply, 404)
    await assert_nothing_dialled(bed)


async def test_a_room_without_the_bot_in_its_call_is_409(bed: DialOutBed) -> None:
    room = await bed.roombot.create_room(["Presenter"], pstn_dial_out_enabled=True)
    await bed.roombot.join(room.id, room.members[0])

    reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER})

    body = assert_problem(reply, 409)
    assert f"/api/rooms/{room.id}/connect" in body["detail"]
    await assert_nothing_dialled(bed)


async def test_the_backend_key_is_required(bed: DialOutBed, room: CreatedRoom) -> None:
    anonymous = await bed.roombot.request(
        "POST", f"/api/rooms/{room.id}/dialouts", json={"phoneNumber": INTERPRETER}
    )
    operator = await bed.dial(room.id, {"phoneNumber": INTERPRETER}, api_key=OPS_KEY)
    listing = await bed.roombot.request("GET", f"/api/dialouts/{uuid.uuid4()}", key=OPS_KEY)

    assert_problem(anonymous, 401)
    assert_problem(operator, 403)
    assert_problem(listing, 403)
    await assert_nothing_dialled(bed)


async def test_unknown_dial_outs_are_404(bed: DialOutBed) -> None:
    assert_problem(await bed.get(str(uuid.uuid4())), 404)
    assert_problem(await bed.get("not-a-dial-out"), 404)
    assert_problem(await bed.cancel(str(uuid.uuid4())), 404)


async def test_without_a_caller_id_anywhere_it_is_422() -> None:
    async with dialout_bed(pstn_caller_id=None) as bed:
        room = await bed.room()

        reply = await bed.dial(room.id, {"phoneNumber": INTERPRETER})

        body = assert_problem(reply, 422)
        assert "callerId" in body["detail"]
        await assert_nothing_dialled(bed)


async def test_the_openapi_document_describes_the_dial_out_api(bed: DialOutBed) -> None:
    reply = await bed.roombot.request("GET", "/openapi.json")

    paths = reply.body["paths"]
    assert set(paths["/api/rooms/{roomId}/dialouts"]) == {"post"}
    assert set(paths["/api/dialouts/{id}"]) == {"get", "delete"}
    create = paths["/api/rooms/{roomId}/dialouts"]["post"]
    assert {"200", "202", "400", "404", "409", "422"} <= set(create["responses"])
    assert "Idempotency-Key" in {parameter["name"] for parameter in create["parameters"]}
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(reply.body)
