"""Mapping the ACS facade's domain errors to problem+json answers."""

from __future__ import annotations

from bot.acs import AcsConflict, AcsError, AcsNotFound, AcsRejected, AcsUnavailable
from bot.problems import ProblemError

CREDENTIAL_STATUSES = frozenset({401, 403})


def acs_problem(exc: AcsError, *, subject: str) -> ProblemError:
    if isinstance(exc, AcsNotFound):
        return ProblemError(404, "Not found", f"ACS does not know {subject}: {exc}")
    if isinstance(exc, AcsConflict):
        return ProblemError(409, "Conflict", f"ACS refused the action on {subject}: {exc}")
    if isinstance(exc, AcsUnavailable):
        return ProblemError(503, "ACS unavailable", f"ACS could not be reached for {subject}: {exc}")
    if isinstance(exc, AcsRejected) and exc.status in CREDENTIAL_STATUSES:
        # ACS refused the bot itself (its access key or resource is wrong): not the client's fault.
        return ProblemError(502, "ACS refused the bot's credentials", f"ACS refused {subject}: {exc}")
    if isinstance(exc, AcsRejected):
        return ProblemError(422, "Rejected by ACS", f"ACS rejected the action on {subject}: {exc}")
    return ProblemError(502, "ACS error", f"Unexpected ACS failure for {subject}: {exc}")
