"""The Rooms wire format: parsing and validating request bodies, rendering RoomModel.

Validation follows ACS where it is known (the 180-day rule and its message, roles, raw ids), with
the error shapes of the recorded live traffic (``Azure/azure-sdk-assets``,
``python/sdk/communication/azure-communication-rooms/tests/recordings/``): a field that fails
validation is ``bad_argument`` (generic message, the field in ``details``); an identifier of the
wrong format is a bare ``BadRequest`` "Invalid format for communication identifier."; an unknown
room is ``NotFound`` "The server cannot find the requested resource.", without a target.
Assumptions where the real service's exact behaviour is not documented:
- Dates need a date and a time (RFC 3339); a date-time without an offset is taken as UTC.
- A date that cannot be converted to UTC, or later than 180 days before year 10000, is 400.
- Roles are matched case-insensitively and stored in their canonical spelling.
- A participant entry without a role (``{}`` or ``{"role": null}``) gets the default, Attendee.
- Participants must be communication users of this resource (``8:acs:<resource>_<id>``).
- Unknown body fields are ignored, as the service's JSON binding does.
- ``pstnDialOutEnabled`` is rendered for every api-version, also 2023-06-14, which predates it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from emulator.protocol.errors import AcsError, bad_argument, bad_request
from emulator.protocol.timestamps import service_datetime
from emulator.rooms.merge_patch import RoomPatch
from emulator.rooms.model import DEFAULT_ROLE, ROLES, Room, room_id_problem

MAX_VALIDITY = timedelta(days=180)
# A room's default end is its start plus MAX_VALIDITY: later starts could not have one.
LATEST_DATETIME = datetime.max.replace(tzinfo=UTC) - MAX_VALIDITY
TIME_RANGE_MESSAGE = "The time range is incorrect, or larger than 180 days."
PAST_MESSAGE = "The time range end is in the past."
INVALID_IDENTIFIER = "Invalid format for communication identifier."
PATCH_CONTENT_TYPES = frozenset({"application/merge-patch+json", "application/json"})

_RFC3339_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_CANONICAL_ROLES = {role.lower(): role for role in ROLES}


def not_found() -> AcsError:
    return AcsError(404, "NotFound", "The server cannot find the requested resource.")


def check_room_id(room_id: str) -> None:
    """Raise the Rooms service's 400 for an id that cannot be a room's (``room_id_problem``)."""
    problem = room_id_problem(room_id)
    if problem is not None:
        raise bad_request(problem)


def require_patch_content_type(request: web.Request) -> None:
    if request.content_type not in PATCH_CONTENT_TYPES:
        raise AcsError(
            415,
            "UnsupportedMediaType",
            f"Content-Type '{request.content_type}' is not supported; use application/merge-patch+json.",
        )


def parse_datetime(value: Any, target: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _RFC3339_PREFIX.match(value):
        raise bad_argument(f"{target} must be an RFC 3339 date-time.", target)
    try:
        moment = datetime.fromisoformat(value)
        # Converting to UTC can leave datetime's range (0001-01-01T00:00+01:00).
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise bad_argument(f"{target} must be an RFC 3339 date-time.", target) from None
    if moment > LATEST_DATETIME:
        raise bad_argument(f"{target} must be before {service_datetime(LATEST_DATETIME)}.", target)
    return moment


def parse_bool(value: Any, target: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise bad_argument(f"{target} must be true or false.", target)


def parse_role(value: Any, raw_id: str) -> str:
    if value is None:
        return DEFAULT_ROLE
    role = _CANONICAL_ROLES.get(value.lower()) if isinstance(value, str) else None
    if role is None:
        message = f"Invalid participant role. The valid roles are: {', '.join(ROLES)}."
        raise bad_argument(message, f"$.participants.{raw_id}.role")
    return role


def unsupported_identifier(raw_id: str) -> str:
    """How ``PATCH /rooms/{id}/participants`` refuses an identifier it cannot take (recorded live
    traffic, ``Azure/azure-sdk-assets``, Python Rooms tests ``test_remove_participant_wrong_mri``
    and ``test_add_or_update_participants_incorrectMri``); creating a room says
    ``INVALID_IDENTIFIER`` instead."""
    return f"Communication identifier {raw_id} is not supported."


def invalid_format(raw_id: str) -> str:
    """How creating a room refuses an identifier it cannot take."""
    return INVALID_IDENTIFIER


def parse_participants(
    value: Any, is_own_user: Callable[[str], bool], refusal: Callable[[str], str] = invalid_format
) -> dict[str, str | None]:
    """``{rawId: {role} | null}`` -> ``{rawId: role | None}``; ``None`` means remove. An identifier
    that is not a communication user of this resource is refused with ``refusal(raw_id)``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_argument("Participants must be an object keyed by raw id.", "Participants")
    parsed: dict[str, str | None] = {}
    for raw_id, properties in value.items():
        if properties is None:
            parsed[raw_id] = None
        elif isinstance(properties, dict):
            parsed[raw_id] = parse_role(properties.get("role"), raw_id)
        else:
            message = f"Participant '{raw_id}' must be an object with a role, or null."
            raise bad_argument(message, f"$.participants.{raw_id}")
    for raw_id in parsed:
        # Only communication users can be invited. One of another resource is refused alike:
        # the service's exact answer for it is not recorded (an assumption).
        if not raw_id.startswith("8:acs:") or not is_own_user(raw_id):
            raise bad_request(refusal(raw_id))
    return parsed


def parse_room_patch(body: dict[str, Any]) -> RoomPatch:
    return RoomPatch(
        valid_from=parse_datetime(body.get("validFrom"), "ValidFrom"),
        valid_until=parse_datetime(body.get("validUntil"), "ValidUntil"),
        pstn_dial_out_enabled=parse_bool(body.get("pstnDialOutEnabled"), "PstnDialOutEnabled"),
    )


def check_window(valid_from: datetime, valid_until: datetime, now: datetime) -> None:
    """Raise the ACS 400 unless ``valid_from < valid_until <= valid_from + 180 days`` and the end is ahead."""
    if valid_until <= now:
        raise bad_argument(PAST_MESSAGE, "ValidUntil")
    if valid_from >= valid_until or valid_until - valid_from > MAX_VALIDITY:
        raise bad_argument(TIME_RANGE_MESSAGE, "ValidUntil")


def room_json(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "createdAt": service_datetime(room.created_at),
        "validFrom": service_datetime(room.valid_from),
        "validUntil": service_datetime(room.valid_until),
        "pstnDialOutEnabled": room.pstn_dial_out_enabled,
    }


def participant_json(raw_id: str, role: str) -> dict[str, Any]:
    return {"rawId": raw_id, "role": role}
