"""The content of a recording: a WAV file of the recorded time, silent except for a tone wherever
a prompt played (the emulator has no real audio to record, so a prompt is a tone of its length).

The file is 16-bit PCM mono at 16 kHz, the format ACS plays, and is rendered on request, byte
range by byte range, so a long recording never sits in memory.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

SAMPLE_RATE = 16000
SAMPLE_BYTES = 2
HEADER_BYTES = 44
# A 400 Hz tone: 40 samples a period, so one period tiles without a seam.
TONE_HZ = 400
TONE_AMPLITUDE = 8000
CHUNK_BYTES = 64 * 1024

_PERIOD = b"".join(
    struct.pack("<h", round(TONE_AMPLITUDE * math.sin(2 * math.pi * TONE_HZ * i / SAMPLE_RATE)))
    for i in range(SAMPLE_RATE // TONE_HZ)
)


@dataclass(frozen=True)
class Tone:
    """A prompt that played: from ``start`` for ``seconds`` (recording time, in seconds)."""

    start: float
    seconds: float


@dataclass(frozen=True)
class RecordedAudio:
    seconds: float
    tones: Sequence[Tone]

    @property
    def frames(self) -> int:
        return max(0, round(self.seconds * SAMPLE_RATE))

    @property
    def size(self) -> int:
        return HEADER_BYTES + self.frames * SAMPLE_BYTES

    def header(self) -> bytes:
        data = self.frames * SAMPLE_BYTES
        return b"".join(
            [
                b"RIFF",
                struct.pack("<I", 36 + data),
                b"WAVEfmt ",
                struct.pack("<IHHIIHH", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE * SAMPLE_BYTES, SAMPLE_BYTES, 16),
                b"data",
                struct.pack("<I", data),
            ]
        )

    def _sample_bytes(self, first: int, last: int) -> bytes:
        """The data bytes of samples ``first`` .. ``last - 1``."""
        out = bytearray((last - first) * SAMPLE_BYTES)
        for tone in self.tones:
            begin = max(first, round(tone.start * SAMPLE_RATE))
            end = min(last, round((tone.start + tone.seconds) * SAMPLE_RATE))
            if begin >= end:
                continue
            period = len(_PERIOD) // SAMPLE_BYTES
            offset = begin % period
            wave = _PERIOD[offset * SAMPLE_BYTES :] + _PERIOD * ((end - begin) // period + 1)
            out[(begin - first) * SAMPLE_BYTES : (end - first) * SAMPLE_BYTES] = wave[
                : (end - begin) * SAMPLE_BYTES
            ]
        return bytes(out)

    def render(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Bytes ``start`` .. ``stop - 1`` of the file, in chunks."""
        stop = self.size if stop is None else min(stop, self.size)
        position = start
        header = self.header()
        if position < HEADER_BYTES:
            yield header[position : min(stop, HEADER_BYTES)]
            position = HEADER_BYTES
        while position < stop:
            end = min(stop, position + CHUNK_BYTES)
            # Whole samples around the wanted bytes, then cut to them.
            first = (position - HEADER_BYTES) // SAMPLE_BYTES
            last = (end - HEADER_BYTES + SAMPLE_BYTES - 1) // SAMPLE_BYTES
            data = self._sample_bytes(first, last)
            skip = position - HEADER_BYTES - first * SAMPLE_BYTES
            yield data[skip : skip + end - position]
            position = end
