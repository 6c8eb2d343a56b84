"""Finding `ROOMBOT_*` names that are no setting, in the environment and in `.env`.

pydantic-settings ignores a variable it does not know, so `ROOMBOT_STATEURL=memory://` would
silently leave the state in SQLite. The names are checked against the Settings class's declared
fields, so a field added there is accepted here with no other change.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from dotenv import dotenv_values


class UnknownSettingError(ValueError):
    """A `ROOMBOT_*` variable names no setting; the message is one line, with suggestions."""


def _suggestion(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def unknown_names(
    prefix: str, known: Iterable[str], environ: Iterable[str], env_file: Path | None
) -> list[str]:
    """One message per `<prefix>*` name of ``environ`` (names, e.g. os.environ) or ``env_file`` that
    is not in ``known``.

    Names are compared in upper case, as pydantic-settings matches them case-insensitively."""
    valid = {name.upper() for name in known}
    sources: list[tuple[str, Iterable[str]]] = [("environment", environ)]
    if env_file is not None and env_file.is_file():
        sources.append((str(env_file), dotenv_values(env_file)))
    problems = []
    for where, names in sources:
        for name in sorted(names):
            upper = name.upper()
            if upper.startswith(prefix) and upper not in valid:
                problems.append(f"{name} ({where}) is not a setting{_suggestion(upper, valid)}")
    return problems
