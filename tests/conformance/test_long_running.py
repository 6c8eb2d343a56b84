"""What keeps a long-running emulator bounded, as a client sees it: finished invitations are
forgotten beyond a limit, large request bodies are logged truncated; and the HMAC skew message
names the configured window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.communication.callautomation import PhoneNumberIdentifier

from emulator.config import EmulatorConfig
from emulator.keys import INVITATIONS
from emulator.protocol.requestlog import MAX_BODY_BYTES
from emulator.server import RunningEmulator
from tests.conformance.call_helpers import CallAutomationApi, control, received
from tests.conformance.conftest import signed_request
from tests.conformance.participant_helpers import (
    CALLER_ID,
    invitation_of,
    invitations,
    live_call,
    participants_of,
    set_phone,
)
from tests.support.callback_sink import CallbackSink

ROOMS = "/rooms?api-version=2025-03-13"


async def test_only_the_last_finished_invitations_are_kept_and_ringing_ones_always(
    emulator: RunningEmulator, calls: CallAutomationApi, sink: CallbackSink
) -> None:
    emulator.app[INVITATIONS].keep_finished = 2
    live = await live_call(emulator, calls, sink)
    participants = participants_of(calls)
    busy = ["+14255550131", "+14255550132", "+14255550133"]
    for number in busy:
        await set_phone(emulator, number, answer="busy", answerAfterSeconds=0)
    await set_phone(emulator, "+14255550134", answer="noAnswer")

    ids = []
    for number in busy:
        added = await participants.add(
            live.connection_id, PhoneNumberIdentifier(number), source_caller_id_number=CALLER_ID
        )
        ids.append(invitation_of(added))
    await sink.wait_for(received("/bot", "AddParticipantFailed", len(busy)))
    ringing = await participants.add(
        live.connection_id,
        PhoneNumberIdentifier("+14255550134"),
        source_caller_id_number=CALLER_ID,
        invitation_timeout=180,
    )

    listed = await invitations(emulator, live.room_id)
    assert [(i["invitationId"], i["state"]) for i in listed] == [
        (ids[1], "failed"),
        (ids[2], "failed"),
        (invitation_of(ringing), "ringing"),
    ]


async def test_a_large_request_body_is_logged_truncated(emulator: RunningEmulator) -> None:
    padding = "x" * (2 * MAX_BODY_BYTES)
    large = await signed_request(emulator, "POST", ROOMS, {"padding": padding})
    small = await signed_request(emulator, "POST", ROOMS, {"pstnDialOutEnabled": True})
    assert (large.status, small.status) == (201, 201)

    entries = (await control(emulator, "GET", "/emulator/requests")).body

    truncated, kept = entries[-2], entries[-1]
    assert truncated["bodyTruncated"] is True
    assert truncated["bodySize"] == len(padding) + len('{"padding": ""}')
    assert len(truncated["body"]) == MAX_BODY_BYTES
    assert truncated["body"].startswith('{"padding": "xxx')
    assert kept["body"] == {"pstnDialOutEnabled": True}
    assert "bodyTruncated" not in kept


@pytest.mark.parametrize(
    ("emulator_config", "window"),
    [
        (EmulatorConfig(time_scale=0.02, max_clock_skew_seconds=120), "2 minutes"),
        (EmulatorConfig(time_scale=0.02, max_clock_skew_seconds=90), "90 seconds"),
        (EmulatorConfig(time_scale=0.02), "15 minutes"),
    ],
)
async def test_the_skew_message_names_the_configured_window(emulator: RunningEmulator, window: str) -> None:
    answer = await signed_request(emulator, "GET", ROOMS, date=datetime.now(UTC) - timedelta(minutes=20))

    assert answer.status == 401
    assert answer.body["error"]["message"] == f"The request time is outside the allowed skew of {window}."
