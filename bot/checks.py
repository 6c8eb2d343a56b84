"""Start-up checks across handlers: what one refers to by name exists, and ACS can speak what
they are configured to say.

Both run when the app is built, so a mistake stops the bot with one line instead of failing the
first call that needs it: a dial-out with ``confirmWithDtmf`` that rings, connects and then has
no menu, or a text prompt ACS refuses because no AI services resource is linked.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from bot.handlers import Handler, Reference
from bot.plugins import PluginError
from config.prompts import Prompt
from config.settings import env_name

if TYPE_CHECKING:
    from config.settings import Settings

# Enough to recognise the places; the rest are counted.
SHOWN_PLACES = 3


class SpeechConfigurationError(PluginError):
    """Text or SSML prompts are configured and ACS is given no AI services endpoint to speak them."""


def _provided(handlers: Iterable[Handler]) -> dict[str, set[str]]:
    provided: dict[str, set[str]] = {}
    for handler in handlers:
        offers: Mapping[str, Collection[str]] = getattr(handler, "provides", dict)()
        for kind, names in offers.items():
            provided.setdefault(kind, set()).update(names)
    return provided


def check_references(handlers: Iterable[Handler]) -> None:
    """Raise PluginError naming every reference no loaded handler provides."""
    handlers = list(handlers)
    provided = _provided(handlers)
    problems = []
    for handler in handlers:
        wanted: Iterable[Reference] = getattr(handler, "references", tuple)()
        for reference in wanted:
            known = provided.get(reference.kind)
            if known is None:
                problems.append(
                    f"{reference.where}: {reference.kind} {reference.name!r} is needed but no loaded "
                    f"handler provides {reference.kind}s"
                )
            elif reference.name not in known:
                choices = ", ".join(sorted(known)) or "none"
                problems.append(
                    f"{reference.where}: {reference.kind} {reference.name!r} does not exist "
                    f"({reference.kind}s: {choices})"
                )
    if problems:
        raise PluginError("; ".join(problems))


def spoken_prompts(handlers: Iterable[Handler]) -> list[str]:
    """Where the handlers' configuration holds text or SSML prompts (not audio files)."""
    places = []
    for handler in handlers:
        prompts: Iterable[tuple[str, Prompt]] = getattr(handler, "prompts", tuple)()
        places += [where for where, prompt in prompts if prompt.kind != "file"]
    return places


def check_speech(handlers: Iterable[Handler], settings: Settings) -> None:
    """Text and SSML prompts need ``COGNITIVE_SERVICES_ENDPOINT``; raise naming where they are set.

    ACS plays text and SSML only on a call whose connect named an Azure AI services resource
    linked to the ACS resource (Microsoft Learn, "Integrate Azure Communication Services with
    Azure AI services"; the Call Automation REST API's ``callIntelligenceOptions``). Without
    one, every such prompt would fail the first call that plays it."""
    if settings.cognitive_services_endpoint is not None:
        return
    places = spoken_prompts(handlers)
    if not places:
        return
    shown = "; ".join(places[:SHOWN_PLACES])
    more = f" and {len(places) - SHOWN_PLACES} more" if len(places) > SHOWN_PLACES else ""
    raise SpeechConfigurationError(
        f"{env_name('cognitive_services_endpoint')} is not set, so ACS cannot speak text or SSML "
        f"prompts, and these are text: {shown}{more}. Set it to the endpoint of the Azure AI "
        "services resource linked to the ACS resource, or make those prompts audioUrl files"
    )
