"""What the bot can say: a text (spoken by ACS text-to-speech), SSML, or an audio file URL.

Used by the announcements API and by menu files, where a bare string is shorthand for text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

DEFAULT_VOICE = "en-US-JennyNeural"
DEFAULT_LOCALE = "en-US"
# ACS refuses play sources over these sizes; checked here so a bad menu fails at start-up.
MAX_TEXT_CHARS = 400
MAX_SSML_CHARS = 4000
# Text-to-speech speaks about 150 words (some 14 characters) a second; a slow voice and pauses at
# punctuation are covered by counting 10. Only bounds how long a lost completion is waited for.
CHARACTERS_PER_SECOND = 10.0
# An audio file's length is unknown without fetching it: up to this long is waited for.
AUDIO_FILE_SECONDS = 120.0
_TAG = re.compile(r"<[^>]*>")


class Prompt(BaseModel):
    """Exactly one of ``text``, ``ssml``, ``audio_url``."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)
    ssml: str | None = Field(default=None, min_length=1, max_length=MAX_SSML_CHARS)
    audio_url: AnyHttpUrl | None = None
    voice: str = DEFAULT_VOICE
    locale: str = DEFAULT_LOCALE

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> Prompt:
        given = [name for name in ("text", "ssml", "audio_url") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, ssml, audioUrl")
        return self

    @property
    def longest_seconds(self) -> float:
        """About the longest it takes to play: from the length of a text or SSML (its tags
        removed), and `AUDIO_FILE_SECONDS` for a file."""
        if self.text is not None:
            return len(self.text) / CHARACTERS_PER_SECOND
        if self.ssml is not None:
            return len(_TAG.sub("", self.ssml)) / CHARACTERS_PER_SECOND
        return AUDIO_FILE_SECONDS

    @property
    def kind(self) -> str:
        if self.text is not None:
            return "text"
        return "ssml" if self.ssml is not None else "file"


def longest_seconds(prompts: Iterable[Prompt]) -> float:
    """How long the prompts of one play or recognize take at most, one after the other."""
    return sum(prompt.longest_seconds for prompt in prompts)
