"""The facade's planned reading of answers gives what the SDK's own deserializer gives, for every
model of the Call Automation SDK: values of the declared types, values of other types (which the
SDK converts or refuses), missing and null fields, and what is not an object at all."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import pytest
from azure.communication.callautomation._generated import models as generated_models
from azure.communication.callautomation._generated._utils.serialization import Deserializer, Model
from azure.communication.callautomation._generated.models import _models as all_generated_models

from bot.acs.answers import ParsedAnswers

# As the generated client builds its deserializer's classes: the exported models and the others.
CLASSES: dict[str, Any] = {
    name: value
    for module in (all_generated_models, generated_models)
    for name, value in vars(module).items()
    if isinstance(value, type)
}
MODELS = sorted(
    name for name, value in CLASSES.items() if issubclass(value, Model) and not issubclass(value, Enum)
)
# A value of another type than the one declared, for each kind of declared type.
OTHER_TYPE: dict[str, Any] = {"str": 5, "bool": "true", "int": "7", "float": 3, "iso-8601": 12}


def _stock() -> Deserializer:
    reader = Deserializer(CLASSES)
    reader.additional_properties_detection = False
    return reader


def _planned() -> Deserializer:
    reader = _stock()
    reader.__class__ = ParsedAnswers
    return reader


def _sample(data_type: str, depth: int) -> Any:
    samples: dict[str, Any] = {
        "str": "text",
        "bool": True,
        "int": 3,
        "float": 2.5,
        "iso-8601": "2026-12-07T01:02:03Z",
        "duration": "PT5S",
        "object": {"free": [1, "form"]},
    }
    if data_type in samples:
        return samples[data_type]
    if data_type.startswith("[") and data_type.endswith("]"):
        return [_sample(data_type[1:-1], depth), _sample(data_type[1:-1], depth)]
    if data_type.startswith("{") and data_type.endswith("}"):
        return {"first": _sample(data_type[1:-1], depth)}
    if data_type in MODELS:
        return _model_sample(data_type, depth + 1)
    return "text"


def _model_sample(name: str, depth: int) -> dict[str, Any]:
    if depth > 3:
        return {}
    return {
        description["key"]: _sample(description["type"], depth)
        for description in CLASSES[name]._attribute_map.values()
        if description["key"]
    }


def _other_type(data_type: str) -> Any:
    if data_type in OTHER_TYPE:
        return OTHER_TYPE[data_type]
    if data_type.startswith("["):
        return {"not": "a list"}
    return "not an object"


def _state(value: Any) -> Any:
    """A model as plain data: its class and every attribute, recursively."""
    if isinstance(value, Model):
        return (type(value).__name__, {attr: _state(item) for attr, item in sorted(vars(value).items())})
    if isinstance(value, list):
        return [_state(item) for item in value]
    if isinstance(value, dict):
        return {key: _state(item) for key, item in value.items()}
    if isinstance(value, datetime | Enum):
        return repr(value)
    return value


def _read(reader: Deserializer, target: str | type, data: Any) -> Any:
    return reader._deserialize(target, data)  # type: ignore[no-untyped-call]


def _outcome(reader: Deserializer, name: str | type, data: Any) -> Any:
    try:
        return "read", _state(_read(reader, name, data))
    except Exception as exc:
        return "raised", type(exc).__name__


def _variants(name: str) -> list[Any]:
    full = _model_sample(name, 0)
    variants: list[Any] = [full, {}, dict.fromkeys(full), "not an object", ["a", "list"]]
    for description in CLASSES[name]._attribute_map.values():
        key = description["key"]
        if key:
            variants.append({**full, key: _other_type(description["type"])})
            # Lists holding a null and an item of another type.
            if description["type"].startswith("["):
                inner = description["type"][1:-1]
                variants.append({**full, key: [None, _other_type(inner)]})
    return variants


@pytest.mark.parametrize("name", MODELS)
def test_every_model_reads_as_the_sdk_reads_it(name: str) -> None:
    for data in _variants(name):
        # The generated operations name the model, or pass its class (the listings do).
        for target in (name, CLASSES[name]):
            assert _outcome(_planned(), target, data) == _outcome(_stock(), target, data), data


@pytest.mark.parametrize(
    "name",
    ["CallConnectionProperties", "GetParticipantsResponse", "AddParticipantResponse", "CommunicationError"],
)
def test_a_well_formed_answer_never_takes_the_sdks_field_by_field_path(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _state(_read(_stock(), name, _model_sample(name, 0)))

    def refuse(*args: Any) -> Any:
        raise AssertionError("the SDK's own _deserialize ran")

    monkeypatch.setattr(Deserializer, "_deserialize", refuse)
    assert _state(_read(_planned(), name, _model_sample(name, 0))) == expected
    assert _state(_read(_planned(), CLASSES[name], _model_sample(name, 0))) == expected


def test_the_plan_reads_a_real_call_properties_answer() -> None:
    # The shape of a GET of a call connection (Call Automation REST API 2026-03-12).
    bot = {"rawId": "8:acs:bot", "kind": "communicationUser", "communicationUser": {"id": "8:acs:bot"}}
    phone = {"rawId": "4:+14255550123", "kind": "phoneNumber", "phoneNumber": {"value": "+14255550123"}}
    answer = {
        "callConnectionId": "421f3500-f5de-4c12-bf61-9e2641433687",
        "serverCallId": "aHR0cHM6Ly9hcGkuZXhhbXBsZS5jb20vY2FsbA",
        "source": bot,
        "targets": [phone],
        "callConnectionState": "connected",
        "callbackUri": "https://bot.example.com/api/callbacks",
        "correlationId": "d6a5d2b4-5c46-4f3b-9a43-2bb1c9a3e3f2",
        "unknownField": {"kept": False},
    }
    planned = _read(_planned(), "CallConnectionProperties", answer)
    assert planned.call_connection_state == "connected"
    assert planned.targets[0].phone_number.value == "+14255550123"
    assert _state(planned) == _state(_read(_stock(), "CallConnectionProperties", answer))


def test_a_polymorphic_model_takes_the_sdks_own_path() -> None:
    bases = [name for name in MODELS if CLASSES[name].__dict__.get("_subtype_map")]
    assert bases, "the SDK's models name no polymorphic base any more: the test needs another"
    planned = _planned()
    for name in bases:
        _read(planned, name, _model_sample(name, 0))
        assert planned.__dict__["_plans"][name] is None
