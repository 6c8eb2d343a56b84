"""The announcement request body: what is accepted, and the field every refusal names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.problems import validation_problem
from config.prompts import Prompt
from handlers.announcements.model import (
    Announcement,
    AnnouncementRequest,
    Audience,
    Outcome,
    Role,
    Status,
)


def refusal(body: dict[str, Any]) -> tuple[str, str]:
    """The (field, message) of the first error, as the 422 problem shows it."""
    with pytest.raises(ValidationError) as caught:
        AnnouncementRequest.model_validate(body)
    errors = validation_problem(caught.value).extra["errors"]
    return errors[0]["field"], errors[0]["message"]


def test_text_to_everyone() -> None:
    request = AnnouncementRequest.model_validate({"text": "Welcome", "to": "everyone"})

    assert request.to == Audience(kind="everyone")
    assert not request.to.targeted
    assert request.prompt() == Prompt(text="Welcome")
    assert (request.loop, request.interrupt) == (False, False)


def test_ssml_and_audio_url_become_their_prompt_kind() -> None:
    ssml = AnnouncementRequest.model_validate({"ssml": "<speak>Hi</speak>", "to": "pstn"})
    audio = AnnouncementRequest.model_validate(
        {"audioUrl": "https://example.com/chime.wav", "to": "everyone", "loop": True}
    )

    assert ssml.prompt().kind == "ssml"
    assert ssml.to.kind == "pstn"
    assert audio.prompt().kind == "file"
    assert audio.loop


def test_voice_and_locale_reach_the_prompt() -> None:
    request = AnnouncementRequest.model_validate(
        {"text": "Bonjour", "voice": "fr-FR-DeniseNeural", "locale": "fr-FR", "to": "everyone"}
    )

    assert request.prompt() == Prompt(text="Bonjour", voice="fr-FR-DeniseNeural", locale="fr-FR")


def test_listed_participants_keep_their_order_without_duplicates() -> None:
    request = AnnouncementRequest.model_validate(
        {"text": "Hi", "to": {"participants": ["8:acs:b", "4:+14255550123", "8:acs:b"]}}
    )

    assert request.to == Audience(kind="participants", participants=("8:acs:b", "4:+14255550123"))
    assert request.to.to_wire() == {"participants": ["8:acs:b", "4:+14255550123"]}


def test_roles_are_the_four_room_roles() -> None:
    request = AnnouncementRequest.model_validate({"text": "Hi", "to": {"roles": ["Consumer", "Attendee"]}})

    assert request.to.roles == (Role.CONSUMER, Role.ATTENDEE)
    assert request.to.to_wire() == {"roles": ["Consumer", "Attendee"]}


def test_interrupt_is_allowed_for_everyone() -> None:
    request = AnnouncementRequest.model_validate({"text": "Fire drill", "to": "everyone", "interrupt": True})

    assert request.interrupt


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"to": "everyone"}, "text", "exactly one of text, ssml, audioUrl"),
        ({"text": "a", "ssml": "<speak/>", "to": "everyone"}, "ssml", "not text and ssml"),
        (
            {"text": "a", "audioUrl": "https://example.com/a.wav", "to": "everyone"},
            "audioUrl",
            "not text and audioUrl",
        ),
        ({"text": "", "to": "everyone"}, "text", "at least 1 character"),
        ({"text": "x" * 401, "to": "everyone"}, "text", "at most 400"),
        ({"audioUrl": "not a url", "to": "everyone"}, "audioUrl", "URL"),
        ({"text": "a"}, "to", "required"),
        ({"text": "a", "to": "someone"}, "to", '"everyone", "pstn"'),
        ({"text": "a", "to": ["8:acs:x"]}, "to", '{"participants": [rawId, ...]}'),
        ({"text": "a", "to": {"roles": ["Boss"]}}, "to.roles[0]", "'Consumer'"),
        ({"text": "a", "to": {"roles": []}}, "to.roles", "at least 1 item"),
        ({"text": "a", "to": {"participants": []}}, "to.participants", "at least 1 item"),
        ({"text": "a", "to": {"participants": [""]}}, "to.participants[0]", "at least 1 character"),
        ({"text": "a", "to": {"participants": ["8:acs:x"], "roles": ["Consumer"]}}, "to.roles", "Extra"),
        ({"text": "a", "to": {"roles": ["Consumer"]}, "interrupt": True}, "interrupt", '"everyone"'),
        ({"text": "a", "to": "pstn", "interrupt": True}, "interrupt", "queues instead"),
        ({"text": "a", "to": {"participants": ["8:acs:x"]}, "interrupt": True}, "interrupt", "only"),
        ({"text": "a", "to": "everyone", "loop": "yes"}, "loop", "boolean"),
        ({"text": "a", "to": "everyone", "volume": 3}, "volume", "Extra"),
    ],
)
def test_a_bad_body_names_the_field(body: dict[str, Any], field: str, words: str) -> None:
    named, message = refusal(body)

    assert named == field
    assert words in message


def _announcement(**changes: Any) -> Announcement:
    values: dict[str, Any] = {
        "id": "0" * 32,
        "room_id": "99",
        "call_connection_id": "call-1",
        "prompt": Prompt(text="Hello"),
        "audience": Audience(kind="roles", roles=(Role.CONSUMER,)),
        "targets": ("8:acs:c",),
        "loop": False,
        "interrupt": False,
        "status": Status.QUEUED,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values.update(changes)
    return Announcement(**values)


def test_a_stored_announcement_reads_back_the_same() -> None:
    started = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    failed = _announcement(
        status=Status.FAILED,
        started_at=started,
        finished_at=started + timedelta(seconds=2),
        outcome=Outcome(400, 8536, "download failed"),
    )
    everyone = _announcement(audience=Audience(kind="everyone"), targets=None, loop=True)

    for announcement in (failed, everyone):
        assert Announcement.from_doc(announcement.to_doc()) == announcement
    assert everyone.to_doc()["to"] == "everyone"
    assert failed.to_doc()["resultSubCode"] == 8536
    assert "resultCode" not in everyone.to_doc()


def test_status_moves_forward_only() -> None:
    at = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    queued = _announcement()

    playing = queued.moved_to(Status.PLAYING, at)
    completed = playing.moved_to(Status.COMPLETED, at + timedelta(seconds=3), Outcome(200, 0, "done"))

    assert (playing.status, playing.started_at, playing.finished_at) == (Status.PLAYING, at, None)
    assert completed.status is Status.COMPLETED
    assert completed.started_at == at
    assert completed.finished_at == at + timedelta(seconds=3)
    # A late PlayStarted, or a second final event, changes nothing.
    assert completed.moved_to(Status.PLAYING, at) is completed
    assert completed.moved_to(Status.CANCELLED, at) is completed
    assert queued.moved_to(Status.QUEUED, at) is queued


def test_an_announcement_can_finish_without_having_started() -> None:
    at = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)

    cancelled = _announcement().moved_to(Status.CANCELLED, at, Outcome(message="cancelled before it played"))

    assert cancelled.started_at is None
    assert cancelled.finished_at == at
    assert cancelled.to_doc()["resultMessage"] == "cancelled before it played"
