"""The results invitations end with, as ``resultInformation`` of their events.

Failures of a phone carry the code and subcode ACS documents for PSTN call ends
(``ParticipantEndReason`` / ``ParticipantEndSubCode`` in its troubleshooting codes: 486/560486
busy, 603/560603 declined, 408/560408 no response in time, 487/540487 request terminated by the
caller) and what the phone network signalled: the SIP response and the Q.850 cause. ACS's table
lists the busy subcode as 60486, which reads as a typo for 560486 next to its siblings; the
emulator uses 560486. The other codes are the emulator's own choices, named as such in
``invitations.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.calls.events import Result


@dataclass(frozen=True)
class SignalledResult(Result):
    """A result that also carries what the phone network signalled: SIP response and Q.850 cause."""

    sip: tuple[int, str] = (0, "")
    q850: tuple[int, str] = (0, "")

    def wire(self) -> dict[str, Any]:
        body = super().wire()
        body["sipDetails"] = {"code": self.sip[0], "message": self.sip[1]}
        body["q850Details"] = {"code": self.q850[0], "message": self.q850[1]}
        return body


ANSWERED = Result(200, 0, "The participant joined the call.")
BUSY = SignalledResult(486, 560486, "The called number was busy.", (486, "Busy Here"), (17, "User busy"))
DECLINED = SignalledResult(
    603, 560603, "The call was declined by the recipient.", (603, "Decline"), (21, "Call rejected")
)
NO_ANSWER = SignalledResult(
    408,
    560408,
    "The called party did not answer within the invitation timeout.",
    (408, "Request Timeout"),
    (19, "No answer from user (user alerted)"),
)
CANCELLED = SignalledResult(
    487,
    540487,
    "The caller terminated the call request.",
    (487, "Request Terminated"),
    (16, "Normal call clearing"),
)
COULD_NOT_JOIN = Result(403, 0, "The participant may no longer join this room's call.")
CALL_GONE = Result(410, 0, "The call ended, or its connection hung up, while the invitation rang.")
CANCEL_DONE = Result(200, 0, "The invitation was cancelled.")
CANCEL_UNKNOWN = Result(404, 8522, "This call connection issued no invitation with this id.")
CANCEL_TOO_LATE = Result(400, 8523, "The invitation already ended: it can no longer be cancelled.")
