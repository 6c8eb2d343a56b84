"""Call Automation answers read into the SDK's own models by a plan made once per model.

The Call Automation SDK's generated ``Deserializer`` reads every answer field by field through
general machinery: for each attribute of each model it copies the attribute's description, runs
two key extractors (the REST one walks flattened ``a.b`` keys, the XML one checks for an XML
element), dispatches on the type string, classifies the model for polymorphism and, to build the
model, works out its read-only and constant attributes again. That is about a third of the SDK's
own CPU for a ``get_call`` (its pipeline and request building are most of the rest).

`ParsedAnswers` reads a JSON object into a model as that machinery would, from a plan made on the
model's first answer: which key each attribute reads, what its type is, which attributes the
constructor takes and which are set after it (read-only). A value of the type declared (a string
for ``str``, a list of objects for ``[CallParticipant]``, ...) is taken as it is, which is what the
generated code does with it too; any other value (a number for a ``str``, a string for a ``bool``,
a date, a dictionary type) goes through the SDK's own ``deserialize_data`` for that field, with its
conversions and its errors. A model the plan cannot describe exactly (a polymorphic one, a
flattened or escaped key, a changed set of key extractors) and anything not a JSON object take the
SDK's own path whole, and so does a model whose constructor refuses what was read (so the error is
the SDK's). ``tests/unit/acs/test_answers.py`` holds both readings equal for every model of the
SDK, with values of the declared types, of others and missing.

Also here, one JSON parse per answer: the generated operations deserialize from the HTTP response,
which would parse its text again; the parse that `bot.acs.sdk.DecodeOnce` keeps (azure-core's own
cached ``response.json()``) is read instead.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from azure.communication.callautomation._generated._utils.serialization import (
    Deserializer,
    Model,
    rest_key_extractor,
    xml_key_extractor,
)
from azure.core.exceptions import ResponseNotReadError
from azure.core.pipeline import policies
from azure.core.rest import AsyncHttpResponse

# The types the SDK reads with `deserialize_basic`, and the Python type of a JSON value of each
# that it takes as it is (a float field still converts an integer: float(1) is not 1).
_BASIC = {"str": str, "bool": bool, "int": int, "float": float}
_DEFAULT_EXTRACTORS = [rest_key_extractor, xml_key_extractor]

# How a field is read: its value as it is when of the declared type, else the SDK's reading.
_AS_BASIC, _AS_MODEL, _AS_BASIC_LIST, _AS_MODEL_LIST, _AS_SDK = range(5)

Plan = Callable[[dict[str, Any]], Any]


def json_body(response: AsyncHttpResponse) -> bool:
    """Whether the answer carries a body that azure-core would parse as JSON (by its own test of
    the media type; an answer that names none is taken for JSON, as there). An answer not read
    yet (streamed) is not."""
    try:
        if not response.content:
            return False
    except ResponseNotReadError:
        return False
    content_type = response.content_type
    media_type = content_type.split(";", 1)[0].strip().lower() if content_type else "application/json"
    return policies.ContentDecodePolicy.JSON_REGEXP.match(media_type) is not None


class ParsedAnswers(Deserializer):
    """The SDK's deserializer, reading a JSON answer's cached parse and each model by its plan.

    It replaces the class of the generated client's own instance (whose ``__init__`` has run), so
    its plans are made on first use rather than in an ``__init__`` of its own."""

    @staticmethod
    def _unpack_content(raw_data: Any, content_type: str | None = None) -> Any:
        if isinstance(raw_data, AsyncHttpResponse) and json_body(raw_data):
            try:
                return raw_data.json()
            except ValueError:
                pass  # the SDK's own parse below raises its own error
        return Deserializer._unpack_content(raw_data, content_type)  # type: ignore[no-untyped-call]

    def _deserialize(self, target_obj: Any, data: Any) -> Any:
        # The generated operations name the model of an answer, or pass its class (listings).
        if isinstance(data, dict) and isinstance(target_obj, str | type):
            plan = self._plan(target_obj)
            if plan is not None:
                try:
                    return plan(data)
                except (AttributeError, TypeError, KeyError):
                    pass  # the SDK's own reading below raises its own DeserializationError
        return super()._deserialize(target_obj, data)  # type: ignore[no-untyped-call]

    def _plan(self, target: str | type) -> Plan | None:
        plans: dict[str | type, Plan | None] | None = self.__dict__.get("_plans")
        if plans is None:
            plans = self.__dict__["_plans"] = {}
        if target not in plans:
            plans[target] = self._make_plan(target)
        return plans[target]

    def _make_plan(self, target: str | type) -> Plan | None:
        model = self.dependencies.get(target) if isinstance(target, str) else target
        if (
            not isinstance(model, type)
            or not issubclass(model, Model)
            or model.__dict__.get("_subtype_map")
            or self.key_extractors != _DEFAULT_EXTRACTORS
            or self.additional_properties_detection
        ):
            return None
        fields: list[tuple[str, str, int, Any, str]] = []
        for attr, description in model._attribute_map.items():
            key, data_type = description["key"], description["type"]
            if attr == "additional_properties" and key == "":
                continue  # skipped by the SDK as well (and never collected here)
            if "." in key or "\\" in key:
                return None  # flattened or escaped: the REST key extractor's own business
            fields.append((attr, key, *self._reading(data_type), data_type))
        validation = getattr(model, "_validation", {})
        set_after = tuple(attr for attr, rule in validation.items() if rule.get("readonly"))
        left_out = {attr for attr, rule in validation.items() if rule.get("readonly") or rule.get("constant")}
        left_out.update(getattr(model, "_subtype_map", {}))
        passed = tuple(attr for attr, *_ in fields if attr not in left_out)
        return self._reader(model, fields, passed, set_after)

    def _reading(self, data_type: str) -> tuple[int, Any]:
        if data_type in _BASIC:
            return _AS_BASIC, _BASIC[data_type]
        if data_type.startswith("[") and data_type.endswith("]"):
            inner = data_type[1:-1]
            if inner in _BASIC:
                return _AS_BASIC_LIST, (_BASIC[inner], inner)
            if self._is_model(inner):
                return _AS_MODEL_LIST, inner
        elif self._is_model(data_type):
            return _AS_MODEL, data_type
        return _AS_SDK, None

    def _is_model(self, name: str) -> bool:
        found = self.dependencies.get(name)
        return isinstance(found, type) and issubclass(found, Model) and not issubclass(found, Enum)

    def _reader(
        self,
        model: type[Model],
        fields: list[tuple[str, str, int, Any, str]],
        passed: tuple[str, ...],
        set_after: tuple[str, ...],
    ) -> Plan:
        read = self._deserialize
        sdk = self.deserialize_data

        def plan(data: dict[str, Any]) -> Any:
            values: dict[str, Any] = {}
            for attr, key, how, arg, data_type in fields:
                value = data.get(key)
                if value is None:
                    values[attr] = None
                elif how == _AS_BASIC:
                    values[attr] = value if type(value) is arg else sdk(value, data_type)  # type: ignore[no-untyped-call]
                elif how == _AS_MODEL and type(value) is dict:
                    values[attr] = read(arg, value)
                elif how == _AS_MODEL_LIST and type(value) is list:
                    values[attr] = [read(arg, item) for item in value]
                elif how == _AS_BASIC_LIST and type(value) is list:
                    kind, inner = arg
                    values[attr] = [item if type(item) is kind else sdk(item, inner) for item in value]  # type: ignore[no-untyped-call]
                else:
                    values[attr] = sdk(value, data_type)  # type: ignore[no-untyped-call]
            made = model(**{attr: values[attr] for attr in passed})
            for attr in set_after:
                setattr(made, attr, values.get(attr))
            return made

        return plan
