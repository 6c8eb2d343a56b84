"""Call records for tests that need many of them without a call behind: connected, no
participants, each started one second after ``T0`` times its index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.state.base import CallRecord, CallState

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def call(index: int, room: str = "1000", started: datetime | None = None) -> CallRecord:
    """Call ``call-<index, 5 digits>`` in ``room``, started at ``started`` or T0 + index s."""
    return CallRecord(
        call_connection_id=f"call-{index:05d}",
        room_id=room,
        server_call_id=None,
        state=CallState.CONNECTED,
        participants=[],
        started_at=started or T0 + timedelta(seconds=index),
    )
