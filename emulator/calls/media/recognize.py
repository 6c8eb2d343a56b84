"""A DTMF recognize while it runs: prompt, initial silence, keys, inter-tone gaps.

Choices made where ACS's documentation is silent (the real service wins if it differs):
- A recognize's prompt sends no Play* events. A prompt that cannot play ends the recognize with
  RecognizeFailed 500/8511 and ``failedPlaySourceIndex``.
- Keys pressed during a prompt without ``interruptPrompt`` are dropped: they neither stop the
  prompt nor count. With it, the first key stops the prompt and counts.
- The initial-silence timer starts when the prompt ends; after each key the inter-tone timer runs.
- A stop tone ends the recognize (8514) and is not part of ``dtmfResult.tones``. In ``choices``
  mode the first key decides: a choice's tone completes it (8533), any other key fails it with
  400/8534 (ACS's "incorrect tone"). RecognizeFailed carries no tones, so the tones collected
  before an inter-tone timeout (8532) show in the media log only.
- The media log entry has a ``phase``: ``prompt``, ``waiting`` (for the first key) or
  ``collecting`` (between keys).
"""

from __future__ import annotations

import asyncio
from typing import Literal

from emulator.calls.events import Result
from emulator.calls.media.ops import Operation, OperationHost
from emulator.calls.media.requests import RecognizeRequest
from emulator.calls.media.sources import SourceError
from emulator.calls.model import CallConnection, RoomCall

Phase = Literal["prompt", "waiting", "collecting"]

MAX_TONES = Result(200, 8531, "Action completed, max digits received.")
STOP_TONE = Result(200, 8514, "Action completed as stop tone was detected.")
CHOICE_MATCHED = Result(200, 8533, "Action completed successfully, DTMF option matched.")
INITIAL_SILENCE = Result(400, 8510, "Action failed, initial silence timeout reached.")
INTER_TONE = Result(400, 8532, "Action failed, inter-digit silence timeout reached.")
INCORRECT_TONE = Result(400, 8534, "Action failed, incorrect tone entered.")


class RecognizeOperation(Operation):
    kind = "recognize"
    failed_event = "RecognizeFailed"
    canceled_event = "RecognizeCanceled"

    def __init__(
        self, host: OperationHost, call: RoomCall, connection: CallConnection, request: RecognizeRequest
    ) -> None:
        super().__init__(
            host,
            call,
            connection,
            request,
            [request.target],
            sources=request.prompts,
            options=request.options(),
        )
        self.request = request
        self.target = request.target
        self.phase: Phase = "prompt" if request.prompts else "waiting"
        self.entry["phase"] = self.phase
        self.collected: list[str] = []
        self._keys: asyncio.Queue[str] = asyncio.Queue()

    def bad_source(self, error: SourceError) -> Result:
        return Result(500, 8511, f"Action failed, the prompt could not play: {error.message}")

    def press(self, tone: str) -> bool:
        """One key of the target participant; False when it is not heard."""
        if self.status != "running" or (self.phase == "prompt" and not self.request.interrupt_prompt):
            return False
        self._keys.put_nowait(tone)
        return True

    def _enter(self, phase: Phase) -> None:
        self.phase = phase
        self.entry["phase"] = phase

    async def _next_key(self, seconds: float) -> str | None:
        try:
            async with asyncio.timeout(self.host.clock.scaled(seconds)):
                return await self._keys.get()
        except TimeoutError:
            return None

    async def run(self) -> None:
        key: str | None = None
        if self.sources:
            prompt = await self._length()
            if prompt is None:
                return
            if self.request.interrupt_prompt:
                key = await self._next_key(prompt)
            else:
                await self.host.clock.sleep(prompt)
        self._enter("waiting")
        wait = self.request.initial_silence
        while True:
            if key is None:
                key = await self._next_key(wait)
            if key is None:
                self.finish("failed", self.failed_event, INTER_TONE if self.collected else INITIAL_SILENCE)
                return
            if self._take(key):
                return
            self._enter("collecting")
            wait, key = self.request.inter_tone, None

    def _take(self, tone: str) -> bool:
        """Count one key; True when it ended the recognize."""
        if self.request.input_type == "choices":
            self.entry["tones"] = [tone]
            choice = next((c for c in self.request.choices if c.tone == tone), None)
            if choice is None:
                return self.finish("failed", self.failed_event, INCORRECT_TONE)
            # A key press matches no phrase: ACS sends recognizedPhrase as null, not absent
            # (the SDK reference: "recognizedPhrase ... null for DTMF"; samples index it).
            choice_result = {"label": choice.label, "recognizedPhrase": None}
            extra = {"recognitionType": "choices", "choiceResult": choice_result}
            return self.finish("completed", "RecognizeCompleted", CHOICE_MATCHED, extra)
        if tone in self.request.stop_tones:
            return self._complete(STOP_TONE)
        self.collected.append(tone)
        self.entry["tones"] = list(self.collected)
        if len(self.collected) >= self.request.max_tones:
            return self._complete(MAX_TONES)
        return False

    def _complete(self, result: Result) -> bool:
        extra = {"recognitionType": "dtmf", "dtmfResult": {"tones": list(self.collected)}}
        return self.finish("completed", "RecognizeCompleted", result, extra)
