"""Participant actions of the ACS facade: invite a phone number, cancel the invitation, remove.

Inviting a phone costs money and rings a person, so ``add_phone`` takes the repeatability
headers from its caller: the dial-out handler persists them with the dial-out, and every retry,
including one after a restart, resends the same id, which ACS answers without dialling again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from azure.communication.callautomation import (
    AddParticipantResult,
    PhoneNumberIdentifier,
)

from bot.acs.retry import Headers
from bot.acs.types import ActionRunner, identifier


@dataclass(frozen=True)
class Invitation:
    invitation_id: str | None
    participant_raw_id: str


class ParticipantActions:
    def __init__(self, runner: ActionRunner) -> None:
        self._runner = runner

    async def add_phone(
        self,
        call_connection_id: str,
        phone_number: str,
        caller_id: str,
        *,
        invitation_timeout: int | None = None,
        operation_context: str | None = None,
        repeatability: Mapping[str, str] | None = None,
    ) -> Invitation:
        """Ring ``phone_number`` (E.164) into the call, shown as ``caller_id``."""
        connection = self._runner.connection(call_connection_id)

        async def action(headers: Headers) -> AddParticipantResult:
            return await connection.add_participant(
                PhoneNumberIdentifier(phone_number),
                source_caller_id_number=PhoneNumberIdentifier(caller_id),
                invitation_timeout=invitation_timeout,
                operation_context=operation_context,
                headers=headers,
            )

        result = await self._runner.run_action(
            f"add {phone_number} to call {call_connection_id}", action, headers=repeatability
        )
        identifier = result.participant.identifier if result.participant else None
        raw_id = identifier.raw_id if identifier is not None else f"4:{phone_number}"
        return Invitation(invitation_id=result.invitation_id, participant_raw_id=raw_id)

    async def cancel_add(
        self, call_connection_id: str, invitation_id: str, *, operation_context: str | None = None
    ) -> None:
        connection = self._runner.connection(call_connection_id)

        async def action(headers: Headers) -> None:
            await connection.cancel_add_participant_operation(
                invitation_id, operation_context=operation_context, headers=headers
            )

        await self._runner.run_action(
            f"cancel invitation {invitation_id} in call {call_connection_id}", action
        )

    async def remove(
        self, call_connection_id: str, raw_id: str, *, operation_context: str | None = None
    ) -> None:
        connection = self._runner.connection(call_connection_id)

        async def action(headers: Headers) -> None:
            await connection.remove_participant(
                identifier(raw_id), operation_context=operation_context, headers=headers
            )

        await self._runner.run_action(f"remove {raw_id} from call {call_connection_id}", action)
