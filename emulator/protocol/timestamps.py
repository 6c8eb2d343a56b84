"""Date-times as the ACS data-plane services write them in their answers.

The Rooms and Identity services write UTC with an explicit ``+00:00`` offset (never ``Z``) and
as many fractional digits as the value needs, up to seven, trailing zeros dropped: ``createdAt``
``2025-02-19T07:29:41.7946862+00:00``, a ``validUntil`` sent as ``...41.870300Z`` answered as
``...41.8703+00:00``, a whole second as ``2024-03-26T19:48:19+00:00``, an Identity token's
``expiresOn`` ``2024-03-27T19:48:30.3495385+00:00`` (recorded live traffic,
``Azure/azure-sdk-assets``: the Python Rooms test ``test_update_room_correct_timerange`` and the
JavaScript Rooms recording ``successfully updates a room with an empty option``). The SDKs hand
these strings through as they are (Rooms 1.2.0's ``valid_from``), so clients see this text.
Python keeps microseconds: the emulator's values have six digits at most.
"""

from __future__ import annotations

from datetime import UTC, datetime


def service_datetime(moment: datetime) -> str:
    """``moment`` as the services write it (a naive datetime is taken as UTC)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += "." + f"{utc.microsecond:06d}".rstrip("0")
    return text + "+00:00"
