"""The ACS request protocol through raw signed requests: HMAC, api-version, repeatability, wire errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from emulator.server import RunningEmulator
from tests.conformance.conftest import RawAnswer, new_user_id, other_key, rfc1123, signed_request

ROOMS = "/rooms?api-version=2025-03-13"


def assert_denied(answer: RawAnswer) -> None:
    assert answer.status == 401
    assert answer.body["error"]["code"] == "Denied"
    assert answer.headers["x-ms-error-code"] == "Denied"


def assert_bad_argument(answer: RawAnswer, target: str) -> None:
    assert answer.status == 400
    # The Rooms service's validation errors come without x-ms-error-code (recorded live traffic).
    assert "x-ms-error-code" not in answer.headers
    error = answer.body["error"]
    assert error["code"] == "BadRequest"
    assert error["details"][0]["code"] == "BadArgument"
    assert error["details"][0]["target"] == target


async def room_count(emulator: RunningEmulator) -> int:
    answer = await signed_request(emulator, "GET", ROOMS)
    assert answer.status == 200
    return len(answer.body["value"])


async def test_signed_create_answers_201_with_location(emulator: RunningEmulator) -> None:
    answer = await signed_request(emulator, "POST", ROOMS, {})
    assert answer.status == 201
    # The bare id, as recorded live (``Location: 99462726014796969``).
    assert answer.headers["Location"] == answer.body["id"]
    assert set(answer.body) == {"id", "createdAt", "validFrom", "validUntil", "pstnDialOutEnabled"}


async def test_wrong_key_is_denied(emulator: RunningEmulator) -> None:
    assert_denied(await signed_request(emulator, "POST", ROOMS, {}, access_key=other_key()))
    assert await room_count(emulator) == 0


async def test_missing_authorization_is_denied(emulator: RunningEmulator) -> None:
    assert_denied(await signed_request(emulator, "GET", ROOMS, authorize=False))


@pytest.mark.parametrize("authorize", [True, False], ids=["wrong-key", "unsigned"])
async def test_call_automation_refuses_in_its_own_shape(emulator: RunningEmulator, authorize: bool) -> None:
    path = f"/calling/callConnections/{uuid.uuid4()}:terminate"
    answer = await signed_request(
        emulator, "POST", path + "?api-version=2026-03-12", {}, access_key=other_key(), authorize=authorize
    )

    # As users of the real service report it: PascalCase keys, code 7509, the path as target.
    assert answer.status == 401
    assert answer.body == {
        "Error": {"Code": "7509", "Message": "HMAC-SHA256 validation failed", "Target": path}
    }


@pytest.mark.parametrize("skew", [timedelta(minutes=16), -timedelta(minutes=16)], ids=["late", "early"])
async def test_date_more_than_15_minutes_off_is_denied(emulator: RunningEmulator, skew: timedelta) -> None:
    assert_denied(await signed_request(emulator, "GET", ROOMS, date=datetime.now(UTC) - skew))


async def test_date_a_few_minutes_off_is_accepted(emulator: RunningEmulator) -> None:
    answer = await signed_request(emulator, "GET", ROOMS, date=datetime.now(UTC) - timedelta(minutes=5))
    assert answer.status == 200


async def test_tampered_body_is_denied(emulator: RunningEmulator) -> None:
    signed_for = b'{"pstnDialOutEnabled": false}'
    answer = await signed_request(
        emulator, "POST", ROOMS, raw_body=b'{"pstnDialOutEnabled": true}', sign_body=signed_for
    )
    assert_denied(answer)
    assert await room_count(emulator) == 0


async def test_missing_api_version_is_rejected(emulator: RunningEmulator) -> None:
    answer = await signed_request(emulator, "GET", "/rooms")
    assert answer.status == 400
    assert answer.body["error"]["code"] == "MissingApiVersionParameter"


@pytest.mark.parametrize("version", ["2022-02-01-preview", "2099-01-01", "2023-10-01"])
async def test_unsupported_api_version_is_rejected(emulator: RunningEmulator, version: str) -> None:
    answer = await signed_request(emulator, "GET", f"/rooms?api-version={version}")
    assert answer.status == 400
    assert answer.body["error"]["code"] == "UnsupportedApiVersion"


async def test_repeated_request_id_creates_one_room(emulator: RunningEmulator) -> None:
    headers = {
        "Repeatability-Request-ID": str(uuid.uuid4()),
        "Repeatability-First-Sent": rfc1123(datetime.now(UTC)),
    }
    first = await signed_request(emulator, "POST", ROOMS, {}, headers=headers)
    again = await signed_request(emulator, "POST", ROOMS, {}, headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert again.headers["Location"] == first.headers["Location"]
    assert await room_count(emulator) == 1


async def test_non_uuid_request_id_is_rejected(emulator: RunningEmulator) -> None:
    answer = await signed_request(emulator, "POST", ROOMS, {}, headers={"Repeatability-Request-ID": "once"})
    assert answer.status == 400
    assert await room_count(emulator) == 0


@pytest.mark.parametrize(
    ("body", "target"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (b"", "body"),
        (b'{"validFrom": 5}', "ValidFrom"),
        (b'{"validUntil": "next tuesday"}', "ValidUntil"),
        (b'{"validUntil": "2030-01-01"}', "ValidUntil"),
        (b'{"pstnDialOutEnabled": "yes"}', "PstnDialOutEnabled"),
        (b'{"participants": []}', "Participants"),
        (b'{"participants": {"8:acs:x": "Presenter"}}', "$.participants.8:acs:x"),
    ],
)
async def test_malformed_create_bodies_are_rejected(
    emulator: RunningEmulator, body: bytes, target: str
) -> None:
    assert_bad_argument(await signed_request(emulator, "POST", ROOMS, raw_body=body), target)
    assert await room_count(emulator) == 0


async def test_bad_role_in_a_raw_body_is_rejected(emulator: RunningEmulator) -> None:
    user = new_user_id()
    body = {"participants": {user: {"role": 3}}}
    assert_bad_argument(await signed_request(emulator, "POST", ROOMS, body), f"$.participants.{user}.role")


async def test_create_accepts_null_for_every_field(emulator: RunningEmulator) -> None:
    body: dict[str, Any] = {
        "validFrom": None,
        "validUntil": None,
        "pstnDialOutEnabled": None,
        "participants": None,
    }
    answer = await signed_request(emulator, "POST", ROOMS, body)
    assert answer.status == 201
    assert answer.body["pstnDialOutEnabled"] is False


async def test_patch_needs_a_json_content_type(emulator: RunningEmulator) -> None:
    room = (await signed_request(emulator, "POST", ROOMS, {})).body
    path = f"/rooms/{room['id']}?api-version=2025-03-13"
    answer = await signed_request(
        emulator, "PATCH", path, {"pstnDialOutEnabled": True}, headers={"Content-Type": "text/plain"}
    )
    assert answer.status == 415
    merge = {"Content-Type": "application/merge-patch+json"}
    answer = await signed_request(emulator, "PATCH", path, {"pstnDialOutEnabled": True}, headers=merge)
    assert answer.status == 200
    assert answer.body["pstnDialOutEnabled"] is True


async def test_participant_patch_answers_an_empty_object(emulator: RunningEmulator) -> None:
    room = (await signed_request(emulator, "POST", ROOMS, {})).body
    path = f"/rooms/{room['id']}/participants?api-version=2025-03-13"
    user = new_user_id()
    answer = await signed_request(emulator, "PATCH", path, {"participants": {user: {"role": "presenter"}}})
    assert (answer.status, answer.body) == (200, {})
    listed = await signed_request(emulator, "GET", path)
    assert listed.body == {"value": [{"rawId": user, "role": "Presenter"}]}


async def test_next_link_is_absolute_and_keeps_the_page_size(emulator: RunningEmulator) -> None:
    for _ in range(3):
        await signed_request(emulator, "POST", ROOMS, {})
    first = await signed_request(emulator, "GET", ROOMS + "&maxpagesize=2")
    assert len(first.body["value"]) == 2
    link = urlsplit(first.body["nextLink"])
    assert f"{link.scheme}://{link.netloc}" == emulator.url
    assert parse_qs(link.query)["maxpagesize"] == ["2"]
    second = await signed_request(emulator, "GET", f"{link.path}?{link.query}")
    assert len(second.body["value"]) == 1
    assert "nextLink" not in second.body


@pytest.mark.parametrize("query", ["skipToken=abc", "skipToken=-1", "maxpagesize=0", "maxpagesize=x"])
async def test_bad_paging_parameters_are_rejected(emulator: RunningEmulator, query: str) -> None:
    answer = await signed_request(emulator, "GET", f"{ROOMS}&{query}")
    assert answer.status == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", ROOMS),
        ("GET", "/rooms/123?api-version=2025-03-13"),
        ("GET", f"/calling/callConnections/{uuid.uuid4()}?api-version=2026-03-12"),
    ],
    ids=["created", "rooms-error", "calls-error"],
)
async def test_answers_echo_the_client_request_id_and_list_the_versions(
    emulator: RunningEmulator, method: str, path: str
) -> None:
    request_id = str(uuid.uuid4())
    answer = await signed_request(
        emulator,
        method,
        path,
        {} if method == "POST" else None,
        headers={"x-ms-client-request-id": request_id},
    )

    assert answer.headers["x-ms-client-request-id"] == request_id
    if answer.status < 300:
        assert "2025-03-13" in answer.headers["api-supported-versions"].split(", ")
