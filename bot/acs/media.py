"""Media actions of the ACS facade: play, DTMF recognize, continuous DTMF, send DTMF, cancel.

Play and recognize carry no repeatability header in ACS, so a retried play could be heard twice;
they are retried only when ACS said it did not act (see `RetryPolicy`'s unsigned-work rule).
"""

from __future__ import annotations

from collections.abc import Sequence

from azure.communication.callautomation import (
    CommunicationIdentifier,
    FileSource,
    RecognizeInputType,
    SsmlSource,
    TextSource,
)

from bot.acs.retry import Headers
from bot.acs.types import ActionRunner, identifier
from bot.media.dtmf import to_tones
from config.prompts import Prompt

PlaySource = FileSource | TextSource | SsmlSource


def play_source(prompt: Prompt) -> PlaySource:
    if prompt.text is not None:
        return TextSource(text=prompt.text, voice_name=prompt.voice, source_locale=prompt.locale)
    if prompt.ssml is not None:
        return SsmlSource(ssml_text=prompt.ssml)
    return FileSource(url=str(prompt.audio_url))


def identifiers(raw_ids: Sequence[str]) -> list[CommunicationIdentifier]:
    return [identifier(raw_id) for raw_id in raw_ids]


class MediaActions:
    def __init__(self, runner: ActionRunner) -> None:
        self._runner = runner

    async def play(
        self,
        call_connection_id: str,
        prompts: Sequence[Prompt],
        *,
        to: Sequence[str] | None = None,
        loop: bool = False,
        interrupt: bool = False,
        operation_context: str | None = None,
    ) -> None:
        """Play to the listed raw ids only, or to everyone when ``to`` is None.

        ``interrupt`` (everyone only, as in ACS) cuts the media operation in progress."""
        connection = self._runner.connection(call_connection_id)
        sources = [play_source(prompt) for prompt in prompts]

        async def action(headers: Headers) -> None:
            if to is None:
                await connection.play_media(
                    sources,
                    "all",
                    loop=loop,
                    operation_context=operation_context,
                    interrupt_call_media_operation=interrupt,
                )
            else:
                await connection.play_media(
                    sources, identifiers(to), loop=loop, operation_context=operation_context
                )

        await self._runner.run_action(
            f"play in call {call_connection_id}", action, idempotent=False, repeatability=False
        )

    async def recognize_dtmf(
        self,
        call_connection_id: str,
        target: str,
        *,
        prompt: Prompt | Sequence[Prompt] | None,
        max_tones: int,
        first_digit_timeout: int,
        inter_digit_timeout: int,
        stop_tones: str = "",
        barge_in: bool = True,
        operation_context: str | None = None,
    ) -> None:
        """Collect keys from one participant, optionally after a prompt (or several, played in
        order: ACS's ``playPrompts``).

        ``first_digit_timeout`` is ACS's initial silence timeout, counted from the end of the
        prompt; ``inter_digit_timeout`` is the wait between two keys."""
        connection = self._runner.connection(call_connection_id)
        play_prompt: PlaySource | list[PlaySource] | None = None
        if isinstance(prompt, Prompt):
            play_prompt = play_source(prompt)
        elif prompt:
            sources = [play_source(one) for one in prompt]
            play_prompt = sources[0] if len(sources) == 1 else sources

        async def action(headers: Headers) -> None:
            await connection.start_recognizing_media(
                RecognizeInputType.DTMF,
                identifier(target),
                play_prompt=play_prompt,
                initial_silence_timeout=first_digit_timeout,
                dtmf_inter_tone_timeout=inter_digit_timeout,
                dtmf_max_tones_to_collect=max_tones,
                dtmf_stop_tones=to_tones(stop_tones) or None,
                interrupt_prompt=barge_in,
                operation_context=operation_context,
            )

        await self._runner.run_action(
            f"recognize DTMF from {target} in call {call_connection_id}",
            action,
            idempotent=False,
            repeatability=False,
        )

    async def cancel_all(self, call_connection_id: str) -> None:
        connection = self._runner.connection(call_connection_id)

        async def action(headers: Headers) -> None:
            await connection.cancel_all_media_operations()

        await self._runner.run_action(
            f"cancel media in call {call_connection_id}", action, repeatability=False
        )

    async def start_continuous_dtmf(
        self, call_connection_id: str, target: str, *, operation_context: str | None = None
    ) -> None:
        connection = self._runner.connection(call_connection_id)

        async def action(headers: Headers) -> None:
            await connection.start_continuous_dtmf_recognition(
                identifier(target), operation_context=operation_context
            )

        await self._runner.run_action(
            f"start continuous DTMF for {target} in call {call_connection_id}", action, repeatability=False
        )

    async def stop_continuous_dtmf(
        self, call_connection_id: str, target: str, *, operation_context: str | None = None
    ) -> None:
        connection = self._runner.connection(call_connection_id)

        async def action(headers: Headers) -> None:
            await connection.stop_continuous_dtmf_recognition(
                identifier(target), operation_context=operation_context
            )

        await self._runner.run_action(
            f"stop continuous DTMF for {target} in call {call_connection_id}", action, repeatability=False
        )

    async def send_dtmf(
        self, call_connection_id: str, keys: str, target: str, *, operation_context: str | None = None
    ) -> None:
        connection = self._runner.connection(call_connection_id)
        tones = to_tones(keys)

        async def action(headers: Headers) -> None:
            await connection.send_dtmf_tones(
                tones, identifier(target), operation_context=operation_context, headers=headers
            )

        await self._runner.run_action(f"send DTMF to {target} in call {call_connection_id}", action)
