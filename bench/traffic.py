"""The callback traffic of a few live calls (participant lists, media and DTMF outcomes) as ACS
delivers it: each event in a POST of its own, a JSON array of one CloudEvent ("Handle Call
Automation events": the service sends every event in its own request, with its own token); and the
calls' identities for the bot's registry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


def _identifier(raw_id: str) -> dict[str, Any]:
    if raw_id.startswith("4:"):
        return {"rawId": raw_id, "kind": "phoneNumber", "phoneNumber": {"value": raw_id[2:]}}
    return {"rawId": raw_id, "kind": "communicationUser", "communicationUser": {"id": raw_id}}


class Call:
    """One live call and the mid-call traffic ACS would send about it."""

    def __init__(self, index: int) -> None:
        self.id = str(uuid.uuid4())
        self.room_id = str(10**16 + index)
        self.server_call_id = f"bench-server-call-{index}"
        self.correlation_id = str(uuid.uuid4())
        self.participants = [f"8:acs:bench_{uuid.uuid4()}" for _ in range(3)] + ["4:+14255550123"]
        self.sequence = 0

    def event(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        subject = f"calling/callConnections/{self.id}"
        return {
            "id": str(uuid.uuid4()),
            "source": subject,
            "type": f"Microsoft.Communication.{name}",
            "data": {
                "callConnectionId": self.id,
                "serverCallId": self.server_call_id,
                "correlationId": self.correlation_id,
                "resultInformation": {"code": 200, "subCode": 0, "message": "Action completed successfully."},
                **data,
            },
            "time": datetime.now(UTC).isoformat(),
            "specversion": "1.0",
            "datacontenttype": "application/json",
            "subject": subject,
        }

    def registration(self) -> dict[str, str]:
        """What ``bench.target``'s ``/register`` needs to know the call as live."""
        return {
            "roomId": self.room_id,
            "callConnectionId": self.id,
            "serverCallId": self.server_call_id,
            "correlationId": self.correlation_id,
        }

    def recognized(self, operation_context: str, tones: Sequence[str]) -> dict[str, Any]:
        """The ``RecognizeCompleted`` of a DTMF recognize the bot started with this context."""
        return self.event(
            "RecognizeCompleted",
            {
                "operationContext": operation_context,
                "recognitionType": "dtmf",
                "dtmfResult": {"tones": list(tones)},
            },
        )

    def participants_updated(self) -> dict[str, Any]:
        self.sequence += 1
        listed = [
            {
                "identifier": {"rawId": raw_id, "kind": "communicationUser"},
                "isMuted": False,
                "isOnHold": False,
            }
            for raw_id in self.participants
        ]
        return self.event("ParticipantsUpdated", {"sequenceNumber": self.sequence, "participants": listed})

    def batch(self, turn: int) -> list[dict[str, Any]]:
        """The events of this call's ``turn``-th step: one to three, in the order ACS sends them."""
        phone = _identifier(self.participants[-1])
        match turn % 5:
            case 0:
                return [self.participants_updated()]
            case 1:
                return [self.event("PlayStarted", {"operationContext": "announcements:bench"})]
            case 2:
                return [
                    self.event("PlayCompleted", {"operationContext": "announcements:bench"}),
                    self.event(
                        "RecognizeCompleted",
                        {
                            "operationContext": "menus:bench",
                            "recognitionType": "dtmf",
                            "dtmfResult": {"tones": ["one"]},
                        },
                    ),
                ]
            case 3:
                return [
                    self.event(
                        "AddParticipantSucceeded", {"operationContext": "dialout:bench", "participant": phone}
                    ),
                    self.participants_updated(),
                    self.event("ContinuousDtmfRecognitionToneReceived", {"tone": "five", "sequenceId": turn}),
                ]
            case _:
                return [
                    self.event("ContinuousDtmfRecognitionToneReceived", {"tone": "pound", "sequenceId": turn})
                ]


def bodies(calls: Sequence[Call], posts: int) -> tuple[list[bytes], int]:
    """``posts`` bodies of one event each, the calls' steps taken in turn (each call's events in
    order); and how many events they hold (``posts``)."""
    bodies: list[bytes] = []
    turn = 0
    while len(bodies) < posts:
        for event in calls[turn % len(calls)].batch(turn // len(calls)):
            bodies.append(json.dumps([event]).encode())
        turn += 1
    del bodies[posts:]
    return bodies, len(bodies)
