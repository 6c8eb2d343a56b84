"""Play sources: what a play or a recognize prompt asks for, and how long each one plays.

Durations are simulated seconds (the clock scales them):
- text: at a speaking rate of ``SPEAKING_RATE`` characters a second, at least ``MIN_SPEECH``.
- SSML: the text between the tags at the same rate, plus every ``<break time="..."/>``, at
  least ``MIN_SPEECH``. The markup itself is not validated.
- file: downloaded when the operation starts, as ACS does (GET, ``FETCH_TIMEOUT`` real seconds,
  at most ``MAX_FILE_BYTES``). ACS plays two formats: WAV as 16-bit PCM mono at 16 kHz, which
  plays for its real length, and MP3 with an ID3v2 tag, which the emulator does not decode and
  plays for ``DEFAULT_MP3_SECONDS``. An unreachable URL, an error status, a timeout or a file
  that is too large fails with 8536 (download failed); anything else, including WAV files in
  another format, fails with 8535 (bad file format).
"""

from __future__ import annotations

import html
import io
import re
import wave
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from emulator.protocol.errors import invalid
from emulator.urls import is_http_url

SourceKind = Literal["file", "text", "ssml"]

# Characters a second of a typical neural voice.
SPEAKING_RATE = 15.0
MIN_SPEECH = 1.0
DEFAULT_MP3_SECONDS = 5.0
# A network limit, so real seconds, never scaled.
FETCH_TIMEOUT = 10.0
MAX_FILE_BYTES = 32 * 1024 * 1024
# The one WAV format ACS plays: (channels, bytes per sample, frames per second).
ACS_WAV_FORMAT = (1, 2, 16000)

FILE_DOWNLOAD_FAILED = 8536
BAD_FILE_FORMAT = 8535

_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"""<break\b[^>]*\btime\s*=\s*["']\s*([\d.]+)\s*(ms|s)\s*["']""", re.IGNORECASE)
_OPTIONAL_TEXT_FIELDS = ("sourceLocale", "voiceKind", "voiceName", "customVoiceEndpointId")


@dataclass(frozen=True)
class PlaySource:
    kind: SourceKind
    # The file's URI, the text, or the SSML document.
    value: str
    # The source as the media log shows it (the request's fields that the emulator knows).
    wire: dict[str, Any]


class SourceError(Exception):
    """A source that cannot play; ``sub_code`` is ACS's 8536 or 8535."""

    def __init__(self, sub_code: int, message: str) -> None:
        super().__init__(message)
        self.sub_code = sub_code
        self.message = message


def _text_field(container: object, name: str, target: str) -> str:
    value = container.get(name) if isinstance(container, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"The field {target} is required.", target=target)
    return value


def _source(item: object, target: str) -> PlaySource:
    if not isinstance(item, dict):
        raise invalid(f"{target} must be an object.", target=target)
    kind = item.get("kind")
    cache_id = item.get("playSourceCacheId")
    extra = {"playSourceCacheId": cache_id} if isinstance(cache_id, str) else {}
    if kind == "file":
        uri = _text_field(item.get("file"), "uri", f"{target}.file.uri")
        if not is_http_url(uri):
            raise invalid(f"{target}.file.uri must be an absolute http(s) URL.", target=f"{target}.file.uri")
        return PlaySource("file", uri, {"kind": "file", "file": {"uri": uri}, **extra})
    if kind == "text":
        body = item.get("text")
        text = _text_field(body, "text", f"{target}.text.text")
        assert isinstance(body, dict)
        fields = {name: body[name] for name in _OPTIONAL_TEXT_FIELDS if isinstance(body.get(name), str)}
        return PlaySource("text", text, {"kind": "text", "text": {"text": text, **fields}, **extra})
    if kind == "ssml":
        ssml = _text_field(item.get("ssml"), "ssmlText", f"{target}.ssml.ssmlText")
        return PlaySource("ssml", ssml, {"kind": "ssml", "ssml": {"ssmlText": ssml}, **extra})
    raise invalid(f"{target}.kind must be file, text or ssml, not {kind!r}.", target=f"{target}.kind")


def parse_sources(value: object, target: str) -> list[PlaySource]:
    """A non-empty list of play sources, or the 400/8523 naming the field that is wrong."""
    if not isinstance(value, list) or not value:
        raise invalid(f"The field {target} must hold at least one play source.", target=target)
    return [_source(item, f"{target}[{index}]") for index, item in enumerate(value)]


def speech_seconds(text: str) -> float:
    return max(MIN_SPEECH, len(" ".join(text.split())) / SPEAKING_RATE)


def ssml_seconds(ssml: str) -> float:
    pauses = sum(
        float(amount) / (1000 if unit.lower() == "ms" else 1) for amount, unit in _BREAK.findall(ssml)
    )
    spoken = " ".join(html.unescape(_TAG.sub(" ", ssml)).split())
    return max(MIN_SPEECH, len(spoken) / SPEAKING_RATE + pauses)


def audio_seconds(body: bytes) -> float:
    """How long a downloaded file plays, or SourceError(8535) when ACS could not play it."""
    if body[:4] == b"RIFF" and body[8:12] == b"WAVE":
        try:
            with wave.open(io.BytesIO(body), "rb") as audio:
                shape = (audio.getnchannels(), audio.getsampwidth(), audio.getframerate())
                frames = audio.getnframes()
        except (wave.Error, EOFError) as exc:
            raise SourceError(BAD_FILE_FORMAT, f"The WAV file cannot be read: {exc}.") from None
        if shape != ACS_WAV_FORMAT:
            channels, width, rate = shape
            raise SourceError(
                BAD_FILE_FORMAT,
                "WAV files must be 16-bit PCM mono at 16 kHz; this one has "
                f"{channels} channel(s), {8 * width}-bit samples at {rate} Hz.",
            )
        return frames / ACS_WAV_FORMAT[2]
    if body[:3] == b"ID3":
        return DEFAULT_MP3_SECONDS
    raise SourceError(BAD_FILE_FORMAT, "The file is neither a WAV nor an MP3 file with an ID3v2 tag.")


class SourcePlayer:
    """Works out how long sources play; downloads files with the session set while serving."""

    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None

    async def seconds(self, source: PlaySource) -> float:
        if source.kind == "text":
            return speech_seconds(source.value)
        if source.kind == "ssml":
            return ssml_seconds(source.value)
        return audio_seconds(await self._download(source.value))

    async def _download(self, uri: str) -> bytes:
        if self.session is None:
            raise SourceError(FILE_DOWNLOAD_FAILED, "The emulator is not serving.")
        body = bytearray()
        try:
            async with self.session.get(uri, timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT)) as response:
                if response.status >= 300:
                    raise SourceError(FILE_DOWNLOAD_FAILED, f"GET {uri} answered {response.status}.")
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > MAX_FILE_BYTES:
                        raise SourceError(
                            FILE_DOWNLOAD_FAILED, f"{uri} is larger than {MAX_FILE_BYTES} bytes."
                        )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SourceError(FILE_DOWNLOAD_FAILED, f"GET {uri} failed: {exc!r}.") from None
        return bytes(body)
