"""JSON shapes of the bot's API (camelCase), shared by the routes that answer them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.state.base import CallRecord


def call_json(call: CallRecord, roles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The call as the ops API shows it; ``roles`` (raw id → room role) when known. A participant
    off the room's roster (a phone, say) has the role None."""
    roster = roles or {}
    return {
        "roomId": call.room_id,
        "callConnectionId": call.call_connection_id,
        "serverCallId": call.server_call_id,
        "state": call.state,
        "participants": [
            {
                "rawId": p.raw_id,
                "kind": p.kind,
                "role": roster.get(p.raw_id),
                "isMuted": p.is_muted,
                "isOnHold": p.is_on_hold,
            }
            for p in call.participants
        ],
        "startedAt": call.started_at.isoformat(),
        "endedAt": call.ended_at.isoformat() if call.ended_at else None,
    }
