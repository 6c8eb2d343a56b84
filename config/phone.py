"""Phone numbers: the one E.164 check shared by the settings, menu files and the dial-out API."""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from pydantic import AfterValidator


def e164(value: str) -> str:
    """``value`` as a normalized E.164 number (``+1 425 555 0123`` → ``+14255550123``), or
    ValueError naming the value and why it is not one."""
    # Without the +, phonenumbers would need a default region to guess the country from.
    if not value.startswith("+"):
        raise ValueError(f"{value!r} is not an E.164 number: write it with + and the country code")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{value!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{value!r} is not a valid E.164 phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PhoneNumber = Annotated[str, AfterValidator(e164)]
