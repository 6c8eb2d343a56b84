"""Schemathesis hooks for the bot's OpenAPI document (SCHEMATHESIS_HOOKS=tests.support.schemathesis_hooks).

- The ``e164`` format (a phone number valid in its country's numbering plan, which JSON Schema
  cannot say) is generated from libphonenumber's example numbers of every region.
- Every dial-out gets a fresh ``Idempotency-Key``: a key names one request body (the same key
  with another body is 422 by contract), a rule of state that no schema states.
"""

from __future__ import annotations

import uuid
from typing import Any

import phonenumbers
import schemathesis
from hypothesis import strategies as st

IDEMPOTENCY_KEY = "Idempotency-Key"
NUMBERS = sorted(
    {
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
        if (number := phonenumbers.example_number_for_type(region, kind)) is not None
    }
)

schemathesis.openapi.format("e164", st.sampled_from(NUMBERS))


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    if case.headers and IDEMPOTENCY_KEY in case.headers:
        case.headers[IDEMPOTENCY_KEY] = str(uuid.uuid4())
