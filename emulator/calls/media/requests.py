"""The bodies of the media requests (play, recognize, send DTMF, continuous DTMF), parsed and
checked field by field. Anything wrong answers 400/8523 naming the field.

Shapes follow the SDK's generated ``PlayRequest``, ``RecognizeRequest``, ``SendDtmfTonesRequest``
and ``ContinuousDtmfRecognitionRequest``. Whether the participants named are in the call is the
engine's business, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from emulator.calls.media.sources import PlaySource, parse_sources
from emulator.calls.media.tones import is_tone
from emulator.protocol.errors import invalid, not_supported
from emulator.urls import is_http_url

InputType = Literal["dtmf", "choices"]
SPEECH_TYPES = ("speech", "speechOrDtmf")
# Defaults and ranges of RecognizeOptions / DtmfOptions (REST spec 2026-03-12).
INITIAL_SILENCE_DEFAULT, INITIAL_SILENCE_RANGE = 5, (1, 300)
INTER_TONE_DEFAULT, INTER_TONE_RANGE = 2, (1, 60)
MAX_TONES_DEFAULT = 1
PHONE_PREFIX = "4:"


@dataclass(frozen=True)
class PlayRequest:
    sources: list[PlaySource]
    # Raw ids in request order, duplicates dropped; empty means everyone.
    play_to: list[str]
    loop: bool
    interrupt: bool
    operation_context: str | None
    callback_uri: str | None


@dataclass(frozen=True)
class Choice:
    label: str
    tone: str | None
    phrases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecognizeRequest:
    input_type: InputType
    target: str
    prompts: list[PlaySource]
    interrupt: bool
    interrupt_prompt: bool
    initial_silence: int
    inter_tone: int
    max_tones: int
    stop_tones: list[str]
    choices: list[Choice]
    operation_context: str | None
    callback_uri: str | None

    def options(self) -> dict[str, Any]:
        """The recognize options as the media log shows them, defaults filled in."""
        options: dict[str, Any] = {
            "recognizeInputType": self.input_type,
            "initialSilenceTimeoutInSeconds": self.initial_silence,
            "interToneTimeoutInSeconds": self.inter_tone,
            "maxTonesToCollect": self.max_tones,
            "stopTones": list(self.stop_tones),
            "interruptPrompt": self.interrupt_prompt,
            "interruptCallMediaOperation": self.interrupt,
        }
        if self.input_type == "choices":
            options["choices"] = [{"label": c.label, "tone": c.tone} for c in self.choices]
        return options


@dataclass(frozen=True)
class SendDtmfRequest:
    tones: list[str]
    target: str
    operation_context: str | None
    callback_uri: str | None


@dataclass(frozen=True)
class ContinuousDtmfRequest:
    target: str
    operation_context: str | None
    callback_uri: str | None


def raw_id(identifier: object, target: str) -> str:
    """The raw id of a CommunicationIdentifierModel: ``rawId``, else derived from its kind."""
    if not isinstance(identifier, dict):
        raise invalid(f"The field {target} must be an identifier.", target=target)
    value = identifier.get("rawId")
    if isinstance(value, str) and value:
        return value
    user = identifier.get("communicationUser")
    if isinstance(user, dict) and isinstance(user.get("id"), str) and user["id"]:
        return str(user["id"])
    phone = identifier.get("phoneNumber")
    if isinstance(phone, dict) and isinstance(phone.get("value"), str) and phone["value"]:
        return PHONE_PREFIX + str(phone["value"])
    raise invalid(f"The identifier {target} has no rawId.", target=target)


def _object(body: dict[str, Any], name: str, target: str, *, required: bool = False) -> dict[str, Any]:
    value = body.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"The field {target} must be an object.", target=target)
    return value


def _bool(body: dict[str, Any], name: str, target: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(f"The field {target} must be true or false.", target=target)
    return value


def _int(body: dict[str, Any], name: str, target: str, default: int, low: int, high: int | None) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
        bounds = f"between {low} and {high}" if high else f"at least {low}"
        raise invalid(f"The field {target} must be an integer {bounds}.", target=target)
    return value


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(f"The field {name} must be a string.", target=name)
    return value


def _callback_uri(body: dict[str, Any]) -> str | None:
    value = _optional_str(body, "operationCallbackUri")
    if value is None:
        return None
    if not is_http_url(value):
        raise invalid("The field OperationCallbackUri is invalid.", target="operationCallbackUri")
    return value


def _tones(value: object, target: str, *, required: bool) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise invalid(f"The field {target} must be a list of DTMF tones.", target=target)
    for index, tone in enumerate(value):
        if not is_tone(tone):
            raise invalid(f"{target}[{index}] is not a DTMF tone: {tone!r}.", target=f"{target}[{index}]")
    return list(value)


def parse_play(body: dict[str, Any]) -> PlayRequest:
    sources = parse_sources(body.get("playSources"), "playSources")
    play_to = body.get("playTo") or []
    if not isinstance(play_to, list):
        raise invalid("The field playTo must be a list of identifiers.", target="playTo")
    audience = list(dict.fromkeys(raw_id(item, f"playTo[{i}]") for i, item in enumerate(play_to)))
    options = _object(body, "playOptions", "playOptions")
    return PlayRequest(
        sources=sources,
        play_to=audience,
        loop=_bool(options, "loop", "playOptions.loop"),
        interrupt=_bool(body, "interruptCallMediaOperation", "interruptCallMediaOperation"),
        operation_context=_optional_str(body, "operationContext"),
        callback_uri=_callback_uri(body),
    )


def _choices(value: object) -> list[Choice]:
    if not isinstance(value, list) or not value:
        raise invalid(
            "Recognizing choices needs recognizeOptions.choices.", target="recognizeOptions.choices"
        )
    choices: list[Choice] = []
    for index, item in enumerate(value):
        target = f"recognizeOptions.choices[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("label"), str) or not item["label"]:
            raise invalid(f"{target} needs a label.", target=f"{target}.label")
        phrases = item.get("phrases") or []
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise invalid(f"{target}.phrases must be a list of strings.", target=f"{target}.phrases")
        tone = item.get("tone")
        if tone is not None and not is_tone(tone):
            raise invalid(f"{target}.tone is not a DTMF tone: {tone!r}.", target=f"{target}.tone")
        if tone is not None and any(c.tone == tone for c in choices):
            raise invalid(f"{target}.tone {tone!r} belongs to another choice.", target=f"{target}.tone")
        if any(c.label == item["label"] for c in choices):
            raise invalid(f"{target}.label repeats another choice's label.", target=f"{target}.label")
        choices.append(Choice(item["label"], tone, list(phrases)))
    return choices


def _prompts(body: dict[str, Any]) -> list[PlaySource]:
    single, several = body.get("playPrompt"), body.get("playPrompts")
    if single is not None and several is not None:
        raise invalid("Give playPrompt or playPrompts, not both.", target="playPrompts")
    if single is not None:
        return parse_sources([single], "playPrompt")
    if several is not None:
        return parse_sources(several, "playPrompts")
    return []


def parse_recognize(body: dict[str, Any]) -> RecognizeRequest:
    input_type = body.get("recognizeInputType")
    if input_type in SPEECH_TYPES:
        # The emulator has no speech to recognize.
        raise not_supported(f"recognizeInputType {input_type}")
    if input_type not in ("dtmf", "choices"):
        raise invalid(f"Unknown recognizeInputType {input_type!r}.", target="recognizeInputType")
    options = _object(body, "recognizeOptions", "recognizeOptions", required=True)
    if options.get("targetParticipant") is None:
        raise invalid("The field targetParticipant is required.", target="recognizeOptions.targetParticipant")
    dtmf = _object(options, "dtmfOptions", "recognizeOptions.dtmfOptions")
    low, high = INITIAL_SILENCE_RANGE
    inter_low, inter_high = INTER_TONE_RANGE
    return RecognizeRequest(
        input_type=input_type,
        target=raw_id(options["targetParticipant"], "recognizeOptions.targetParticipant"),
        prompts=_prompts(body),
        interrupt=_bool(body, "interruptCallMediaOperation", "interruptCallMediaOperation"),
        interrupt_prompt=_bool(options, "interruptPrompt", "recognizeOptions.interruptPrompt"),
        initial_silence=_int(
            options,
            "initialSilenceTimeoutInSeconds",
            "recognizeOptions.initialSilenceTimeoutInSeconds",
            INITIAL_SILENCE_DEFAULT,
            low,
            high,
        ),
        inter_tone=_int(
            dtmf,
            "interToneTimeoutInSeconds",
            "recognizeOptions.dtmfOptions.interToneTimeoutInSeconds",
            INTER_TONE_DEFAULT,
            inter_low,
            inter_high,
        ),
        max_tones=_int(
            dtmf,
            "maxTonesToCollect",
            "recognizeOptions.dtmfOptions.maxTonesToCollect",
            MAX_TONES_DEFAULT,
            1,
            None,
        ),
        stop_tones=_tones(dtmf.get("stopTones"), "recognizeOptions.dtmfOptions.stopTones", required=False),
        choices=_choices(options.get("choices")) if input_type == "choices" else [],
        operation_context=_optional_str(body, "operationContext"),
        callback_uri=_callback_uri(body),
    )


def parse_send_dtmf(body: dict[str, Any]) -> SendDtmfRequest:
    if body.get("targetParticipant") is None:
        raise invalid("The field targetParticipant is required.", target="targetParticipant")
    return SendDtmfRequest(
        tones=_tones(body.get("tones"), "tones", required=True),
        target=raw_id(body["targetParticipant"], "targetParticipant"),
        operation_context=_optional_str(body, "operationContext"),
        callback_uri=_callback_uri(body),
    )


def parse_continuous(body: dict[str, Any]) -> ContinuousDtmfRequest:
    if body.get("targetParticipant") is None:
        raise invalid("The field targetParticipant is required.", target="targetParticipant")
    return ContinuousDtmfRequest(
        target=raw_id(body["targetParticipant"], "targetParticipant"),
        operation_context=_optional_str(body, "operationContext"),
        callback_uri=_callback_uri(body),
    )
