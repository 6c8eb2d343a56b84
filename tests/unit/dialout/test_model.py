"""The dial-out record: request validation, request fingerprints, and a state machine that only
moves forward whatever order ACS's events come in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.acs.types import AcsRejected, AcsUnavailable
from handlers.dialout.model import (
    DialOut,
    DialOutRequest,
    DialOutResult,
    DialOutStatus,
    dialout_id_of,
    operation_context,
    request_fingerprint,
)
from handlers.dialout.service import acs_result

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(seconds=5)
PHONE = "4:+14255550123"
BUSY = DialOutResult(code=486, sub_code=560486, message="Busy")

Step = Callable[[DialOut], DialOut | None]


def dialout(**changes: Any) -> DialOut:
    fields: dict[str, Any] = {
        "id": "d-1",
        "room_id": "123",
        "call_connection_id": "call-1",
        "phone_number": "+14255550123",
        "caller_id": "+14255550100",
        "created_at": T0,
        "updated_at": T0,
        "repeatability": {"Repeatability-Request-ID": "r-1", "Repeatability-First-Sent": "x"},
    }
    return DialOut.model_validate({**fields, **changes})


def run(start: DialOut, *steps: Step) -> DialOut:
    """Apply the steps in order, skipping those that do not apply (as the store does)."""
    current = start
    for step in steps:
        current = step(current) or current
    return current


def invited(d: DialOut) -> DialOut | None:
    return d.invited("inv-1", PHONE, LATER)


def joined(d: DialOut) -> DialOut | None:
    return d.joined(PHONE, LATER)


def add_failed(d: DialOut) -> DialOut | None:
    return d.add_failed(BUSY, LATER)


def cancelling(d: DialOut) -> DialOut | None:
    return d.cancelling(LATER)


def cancelled(d: DialOut) -> DialOut | None:
    return d.cancelled(LATER)


def yes(d: DialOut) -> DialOut | None:
    return d.settled(True, LATER)


def no(d: DialOut) -> DialOut | None:
    return d.settled(False, LATER, "declined")


# The request.


def test_a_request_normalizes_numbers_to_e164() -> None:
    request = DialOutRequest.model_validate(
        {"phoneNumber": "+1 (425) 555-0123", "callerId": "+44 20 7183 8750"}
    )

    assert request.phone_number == "+14255550123"
    assert request.caller_id == "+442071838750"
    assert request.confirm_with_dtmf is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phoneNumber": "14255550123"}, "phoneNumber"),
        ({"phoneNumber": "+1425555012"}, "phoneNumber"),
        ({"phoneNumber": "+14255550123", "callerId": "nobody"}, "callerId"),
        ({"phoneNumber": "+14255550123", "ringTimeoutSeconds": 181}, "ringTimeoutSeconds"),
        ({"phoneNumber": "+14255550123", "ringTimeoutSeconds": True}, "ringTimeoutSeconds"),
        ({"phoneNumber": "+14255550123", "confirmWithDtmf": "true"}, "confirmWithDtmf"),
        ({"phoneNumber": "+14255550123", "extra": 1}, "extra"),
    ],
)
def test_a_bad_request_names_its_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        DialOutRequest.model_validate(body)

    assert field in {str(error["loc"][0]) for error in raised.value.errors()}


def test_equivalent_requests_share_a_fingerprint() -> None:
    short = DialOutRequest.model_validate({"phoneNumber": "+1 425 555 0123"})
    spelled = DialOutRequest.model_validate(
        {"phoneNumber": "+14255550123", "confirmWithDtmf": False, "callerId": None}
    )

    assert request_fingerprint("123", short) == request_fingerprint("123", spelled)


@pytest.mark.parametrize(
    "other",
    [
        {"phoneNumber": "+14255550124"},
        {"phoneNumber": "+14255550123", "confirmWithDtmf": True},
        {"phoneNumber": "+14255550123", "announcement": "hello"},
        {"phoneNumber": "+14255550123", "ringTimeoutSeconds": 30},
    ],
)
def test_different_requests_have_different_fingerprints(other: dict[str, Any]) -> None:
    base = DialOutRequest.model_validate({"phoneNumber": "+14255550123"})
    changed = DialOutRequest.model_validate(other)

    assert request_fingerprint("123", base) != request_fingerprint("123", changed)
    assert request_fingerprint("123", base) != request_fingerprint("456", base)


# The view.


def test_the_view_hides_the_bots_own_fields() -> None:
    view = dialout(announcement="Hello").view()

    assert view["announcement"] == {"text": "Hello", "voice": "en-US-JennyNeural", "locale": "en-US"}
    assert "result" not in view
    assert not {"repeatability", "idempotencyKey", "invitationId", "notified", "menuStarted"} & set(view)
    assert dialout(status=DialOutStatus.FAILED, result=BUSY).view()["result"] == {
        "code": 486,
        "subCode": 560486,
        "message": "Busy",
    }


def test_a_record_survives_the_store() -> None:
    record = run(dialout(confirm_with_dtmf=True, announcement="Hi"), invited, joined)

    assert DialOut.from_doc(record.to_doc()) == record


# The state machine.


def test_the_confirmed_path() -> None:
    ringing = run(dialout(confirm_with_dtmf=True), invited)
    connected = run(ringing, joined)
    confirmed = run(connected, yes)

    assert ringing.status is DialOutStatus.RINGING
    assert ringing.invitation_id == "inv-1"
    assert connected.status is DialOutStatus.CONNECTED
    assert confirmed.status is DialOutStatus.CONFIRMED
    assert confirmed.updated_at == LATER


def test_without_confirmation_joining_confirms() -> None:
    assert run(dialout(), invited, joined).status is DialOutStatus.CONFIRMED


def test_a_join_before_the_invitation_answer_is_not_undone() -> None:
    # ACS may post AddParticipantSucceeded before answering the add request.
    record = run(dialout(confirm_with_dtmf=True), joined, invited)

    assert record.status is DialOutStatus.CONNECTED
    assert record.invitation_id == "inv-1"


@pytest.mark.parametrize(
    "late",
    [invited, joined, add_failed, cancelled, yes, no, cancelling],
    ids=["invited", "joined", "add_failed", "cancelled", "yes", "no", "cancelling"],
)
@pytest.mark.parametrize("final", [DialOutStatus.CONFIRMED, DialOutStatus.DECLINED, DialOutStatus.FAILED])
def test_a_final_dial_out_ignores_late_events(late: Step, final: DialOutStatus) -> None:
    assert late(dialout(status=final)) is None


def test_a_failure_after_the_join_is_ignored() -> None:
    connected = run(dialout(confirm_with_dtmf=True), invited, joined)

    assert add_failed(connected) is None


def test_busy_fails_with_the_acs_result() -> None:
    record = run(dialout(), invited, add_failed)

    assert record.status is DialOutStatus.FAILED
    assert record.result == BUSY


def test_the_menu_answer_settles_only_a_connected_dial_out() -> None:
    assert yes(run(dialout(), invited)) is None
    declined = run(dialout(confirm_with_dtmf=True), invited, joined, no)

    assert declined.status is DialOutStatus.DECLINED
    assert declined.result == DialOutResult(message="declined")
    assert yes(declined) is None


def test_cancel_then_the_failure_of_the_add_is_a_cancel() -> None:
    # The emulator, like ACS, follows CancelAddParticipantSucceeded with AddParticipantFailed
    # (487); in either order the dial-out ends cancelled.
    assert run(dialout(), invited, cancelling, add_failed).status is DialOutStatus.CANCELLED
    assert run(dialout(), invited, cancelling, cancelled, add_failed).status is DialOutStatus.CANCELLED


def test_a_cancel_that_loses_the_race_with_the_answer_still_cancels() -> None:
    record = run(dialout(), invited, cancelling, joined)

    assert record.status is DialOutStatus.CANCELLED
    assert record.participant_raw_id == PHONE


def test_only_pending_and_ringing_dial_outs_can_be_cancelled() -> None:
    assert dialout().can_cancel
    assert run(dialout(), invited).can_cancel
    assert not run(dialout(confirm_with_dtmf=True), invited, joined).can_cancel
    assert cancelling(run(dialout(), invited, cancelling)) is None


def test_a_refused_cancel_is_forgotten() -> None:
    record = run(dialout(), invited, cancelling, lambda d: d.cancel_refused(LATER))

    assert not record.cancel_requested
    assert run(record, joined).status is DialOutStatus.CONFIRMED


def test_the_menu_starts_once_and_notification_is_marked_once() -> None:
    connected = run(dialout(confirm_with_dtmf=True), invited, joined)
    started = run(connected, lambda d: d.menu_starting(LATER))

    assert started.menu_started
    assert started.menu_starting(LATER) is None
    assert dialout().menu_starting(LATER) is None
    notified = dialout(status=DialOutStatus.FAILED).marked_notified()
    assert notified is not None
    assert notified.notified
    assert notified.marked_notified() is None


def test_statuses_never_go_backwards_in_any_order() -> None:
    steps = [invited, joined, add_failed, cancelling, cancelled, yes, no]
    for first in steps:
        for second in steps:
            for third in steps:
                record = dialout(confirm_with_dtmf=True)
                rank = record.status.rank
                for step in (first, second, third):
                    record = step(record) or record
                    assert record.status.rank >= rank
                    rank = record.status.rank


# Helpers of the service.


def test_operation_contexts_name_their_dial_out() -> None:
    assert dialout_id_of(operation_context("d-1")) == "d-1"
    assert dialout_id_of(operation_context("d-1", "remove")) == "d-1"
    assert dialout_id_of("menus:d-1") is None
    assert dialout_id_of("dialout:") is None
    assert dialout_id_of(None) is None


def test_acs_refusals_become_results() -> None:
    assert acs_result(AcsRejected(400, "8523", "bad caller id")) == DialOutResult(
        code=400, sub_code=8523, message="bad caller id"
    )
    assert acs_result(AcsRejected(403, "PstnDialOutDisabled", "no")) == DialOutResult(
        code=403, sub_code=None, message="no"
    )
    assert acs_result(AcsUnavailable("down")).code is None
