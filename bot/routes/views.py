"""JSON shapes of the bot's API (camelCase), shared by the routes that answer them."""

from __future__ import annotations

from typing import Any

from bot.state.base import CallRecord


def call_json(call: CallRecord) -> dict[str, Any]:
    return {
        "roomId": call.room_id,
        "callConnectionId": call.call_connection_id,
        "serverCallId": call.server_call_id,
        "state": call.state,
        "participants": [
            {"rawId": p.raw_id, "kind": p.kind, "isMuted": p.is_muted} for p in call.participants
        ],
        "startedAt": call.started_at.isoformat(),
        "endedAt": call.ended_at.isoformat() if call.ended_at else None,
    }
