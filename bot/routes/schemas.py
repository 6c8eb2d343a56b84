"""JSON Schemas shared by the OpenAPI document's operations, each written to accept exactly what
the matching validation accepts (a test runs schemathesis against the served document).

Where validation goes beyond JSON Schema, a ``format`` names the rule and its description says it:
``e164`` is a phone number valid in its country's numbering plan (libphonenumber, as
`config.phone.e164` checks it); the schemathesis hooks of the tests generate such numbers.
"""

from __future__ import annotations

from typing import Any

from config.prompts import MAX_SSML_CHARS, MAX_TEXT_CHARS

# Room ids are numeric strings in ACS (`bot.routes.rooms.ROOM_ID_PATTERN`).
ROOM_ID_PATTERN = "^[0-9]{1,40}$"
ROOM_ID_PARAMETER: dict[str, Any] = {
    "name": "roomId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": ROOM_ID_PATTERN},
}
# pydantic's AnyHttpUrl: http or https with a host.
HTTP_URL: dict[str, Any] = {"type": "string", "format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@:]"}
E164: dict[str, Any] = {
    "type": "string",
    "format": "e164",
    "description": "E.164 phone number valid in its country's numbering plan (libphonenumber), "
    "e.g. +14255550123; spaces and dashes are accepted too and removed",
}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or JSON null (a plain type gets null added to it, so its format still applies)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def exactly_one(*names: str) -> list[dict[str, Any]]:
    """For an object schema's ``oneOf``: one alternative per name, that member present and not
    null, the others absent or null."""
    return [
        {
            "required": [name],
            "properties": {
                name: {"not": {"type": "null"}},
                **{other: {"type": "null"} for other in names if other != name},
            },
        }
        for name in names
    ]


PROMPT_TEXT: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS}
PROMPT_SSML: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_SSML_CHARS}
# config.prompts.Prompt: a bare string is text; an object gives exactly one of text/ssml/audioUrl.
PROMPT: dict[str, Any] = {
    "oneOf": [
        {**PROMPT_TEXT, "description": "Text, spoken by ACS text-to-speech (needs Azure AI services)"},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "text": nullable(PROMPT_TEXT),
                "ssml": nullable(PROMPT_SSML),
                "audioUrl": nullable({**HTTP_URL, "description": "WAV, 16-bit PCM mono 16 kHz, or MP3"}),
                "voice": {"type": "string", "description": "Neural voice name, e.g. en-US-JennyNeural"},
                "locale": {"type": "string"},
            },
            "oneOf": exactly_one("text", "ssml", "audioUrl"),
        },
    ]
}
