"""Announcements on a call's timeline: who heard what, queued, then playing, then how it ended."""

from __future__ import annotations

from collections.abc import Iterable

from bot.timeline import Segment, TimelineItem
from config.prompts import Prompt
from handlers.announcements.model import Announcement, Status

LANE = "announcements"
# Enough of a text to recognise it on the picture; the detail has all of it.
LABEL_CHARS = 60


def prompt_words(prompt: Prompt) -> str:
    if prompt.text is not None:
        return prompt.text
    if prompt.ssml is not None:
        return "SSML prompt"
    return f"audio {prompt.audio_url}"


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def item(announcement: Announcement) -> TimelineItem:
    started, finished = announcement.started_at, announcement.finished_at
    segments = [Segment(Status.QUEUED.value, announcement.created_at, started or finished)]
    if started is not None:
        segments.append(Segment(Status.PLAYING.value, started, finished))
    words = prompt_words(announcement.prompt)
    # Who heard it is the item's audience; the detail says what they heard.
    detail = f'"{words}"' if len(words) > LABEL_CHARS else ""
    if announcement.loop:
        detail += " looping"
    if announcement.outcome is not None and announcement.status is not Status.COMPLETED:
        codes = "/".join(str(c) for c in (announcement.outcome.code, announcement.outcome.sub_code) if c)
        detail += (
            f"; {announcement.status.value}: {' '.join(filter(None, [codes, announcement.outcome.message]))}"
        )
    return TimelineItem(
        lane=LANE,
        id=f"announcement:{announcement.id}",
        label=_label(words),
        start=announcement.created_at,
        end=finished,
        status=announcement.status.value,
        detail=detail,
        audience="everyone" if announcement.targets is None else announcement.targets,
        segments=tuple(segments),
    )


def items(announcements: Iterable[Announcement]) -> list[TimelineItem]:
    return [item(announcement) for announcement in announcements]
