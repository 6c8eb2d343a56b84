"""What the bot can say: a text (spoken by ACS text-to-speech), SSML, or an audio file URL.

Used by the announcements API and by menu files, where a bare string is shorthand for text.
"""

from __future__ import annotations

from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

DEFAULT_VOICE = "en-US-JennyNeural"
DEFAULT_LOCALE = "en-US"
# ACS refuses play sources over these sizes; checked here so a bad menu fails at start-up.
MAX_TEXT_CHARS = 400
MAX_SSML_CHARS = 4000


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
    def kind(self) -> str:
        if self.text is not None:
            return "text"
        return "ssml" if self.ssml is not None else "file"
