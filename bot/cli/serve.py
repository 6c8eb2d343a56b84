"""``roombot serve``: run the bot until SIGINT or SIGTERM.

With no ``ROOMBOT_ACS_CONNECTION_STRING`` it starts the emulator in this process and wires itself
to it (the embedded default), so a fresh clone runs with no Azure account. It prints what a
newcomer needs to try it: URLs, API keys, and commands to paste into another shell.

The embedded emulator serves the public dev access key and an unauthenticated control API, so it
listens on 127.0.0.1 only, and ``serve`` refuses a ``--host`` other machines reach when no
connection string is set (a production container whose variable is missing or misspelt) unless
``--emulator`` asks for the emulator explicitly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from bot.checks import SpeechConfigurationError
from bot.cli.gc_tuning import tune_after_start_up
from bot.embedded import (
    EMULATOR_HOST,
    RunningBot,
    bind,
    emulator_overrides,
    generated_api_key,
    is_loopback,
    socket_url,
    start_bot,
    with_overrides,
)
from bot.logs import configure_logging
from bot.plugins import PluginError
from bot.state import StateStoreError
from config.settings import (
    Settings,
    UnknownSettingError,
    env_name,
    format_settings_error,
    load_settings,
)

# The one other place, besides the CLI, where the bot knows the emulator: the embedded default.
from emulator.config import DEFAULT_PORT as DEFAULT_EMULATOR_PORT
from emulator.config import EmulatorConfig
from emulator.server import RunningEmulator, start_emulator

PROG = "roombot serve"
DEFAULT_PORT = 8080
READY_LINE = "Press Ctrl+C to stop."

logger = logging.getLogger(f"roombot.{__name__}")


class StartError(Exception):
    """Start-up cannot go on; ``status`` is the exit status (2 configuration, 1 environment)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="bot port, 0 for a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--emulator-port",
        type=int,
        default=DEFAULT_EMULATOR_PORT,
        help="port of the embedded emulator, run when no ACS connection string is set (default: %(default)s)",
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="run the embedded emulator even though --host is not a loopback address (the emulator "
        "itself still listens on 127.0.0.1 only); without it, a non-loopback --host needs "
        "ROOMBOT_ACS_CONNECTION_STRING",
    )


def emulator_problem(settings: Settings, args: argparse.Namespace) -> str | None:
    """Why the embedded emulator must not run here, if it must not."""
    if settings.acs_connection_string is not None:
        if args.emulator:
            return f"--emulator: no emulator runs when {env_name('acs_connection_string')} is set"
        return None
    if is_loopback(args.host) or args.emulator:
        return None
    return (
        f"--host {args.host} is reachable from other machines and {env_name('acs_connection_string')} is "
        "unset: refusing to serve the development emulator (public dev key); set the connection "
        "string of your ACS resource, or pass --emulator to run it anyway on 127.0.0.1"
    )


def production_problem(settings: Settings) -> str | None:
    """What a real ACS resource needs that the embedded emulator fills in by itself."""
    if settings.acs_connection_string is None:
        return None
    if settings.callback_base_url is None:
        return (
            f"{env_name('callback_base_url')}: is required with {env_name('acs_connection_string')}"
            " (the public URL at which ACS reaches the bot)"
        )
    if settings.acs_resource_id is None:
        return (
            f"{env_name('acs_resource_id')}: is required with {env_name('acs_connection_string')}"
            " (the audience of callback JWTs; without it every callback is refused)"
        )
    return None


@dataclass(frozen=True)
class Wiring:
    """The final settings and what was decided for the user, for the banner."""

    settings: Settings
    generated: frozenset[str]


def wire(settings: Settings, emulator: RunningEmulator | None, bot_url: str) -> Wiring:
    """Fill in the embedded emulator and dev API keys; what the user set stays as it is."""
    overrides: dict[str, Any] = {}
    if emulator is not None:
        overrides.update(emulator_overrides(emulator, bot_url, settings))
    generated = set()
    for field in ("backend_api_keys", "ops_api_keys"):
        if not getattr(settings, field):
            overrides[field] = {generated_api_key()}
            generated.add(field)
    try:
        final = with_overrides(settings, overrides)
    except ValidationError as exc:
        raise StartError(format_settings_error(exc), 2) from None
    return Wiring(final, frozenset(generated))


def display_url(url: str) -> str:
    """``url`` with its password, if any, hidden (``redis://:secret@host`` is a common form)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _key_line(wiring: Wiring, field: str) -> tuple[str, str]:
    """(value to show, note); keys the user chose are masked: they are secrets they already hold."""
    keys = sorted(getattr(wiring.settings, field))
    if field in wiring.generated:
        return keys[0], f"(generated for this run; set {env_name(field)} to choose)"
    masked = ", ".join(f"{key[:4]}…" for key in keys)
    return masked, f"(from {env_name(field)})"


def listening_line(bind_address: str, bot_url: str) -> str:
    """The first banner line: where the socket is bound, and the URL to use from this machine."""
    bound = f"http://{bind_address}"
    if bound == bot_url:
        return f"roombot listening on {bot_url}"
    return f"roombot listening on {bound} (from this machine: {bot_url})"


def banner(
    wiring: Wiring, bot_url: str, emulator: RunningEmulator | None, bind_address: str | None = None
) -> list[str]:
    settings = wiring.settings
    endpoint_and_key = settings.acs_endpoint_and_key
    assert endpoint_and_key is not None  # wire() always leaves a connection string
    endpoint, access_key = endpoint_and_key
    backend_key, backend_note = _key_line(wiring, "backend_api_keys")
    ops_key, ops_note = _key_line(wiring, "ops_api_keys")
    lines = [listening_line(bind_address, bot_url) if bind_address else f"roombot listening on {bot_url}"]
    if emulator is not None:
        lines += [
            f"  emulator:          {emulator.url}  (embedded: {env_name('acs_connection_string')} is unset)",
            f"  connection string: {emulator.connection_string}",
            f"  emulator console:  {emulator.url}/emulator/console  (loopback clients only)",
        ]
    else:
        lines.append(f"  ACS endpoint:      {endpoint}  (from {env_name('acs_connection_string')})")
    lines += [
        f"  callbacks:         {settings.callback_url}",
        f"  backend API key:   {backend_key}  {backend_note}",
        f"  ops API key:       {ops_key}  {ops_note}",
        f"  state:             {display_url(settings.state_url)}",
        f"  API description:   {bot_url}/openapi.json",
        f"  operator console:  {bot_url}/console  (sign in with the ops API key)",
        "",
    ]
    if {"backend_api_keys", "ops_api_keys"} <= wiring.generated:
        lines += [
            "Try it from another shell (the lines below paste as they are):",
            f"export BOT={bot_url} BACKEND_KEY={backend_key} OPS_KEY={ops_key}",
        ]
    else:
        # Keys of the user's own are never printed: the lines paste, with theirs exported first.
        lines += [
            "Try it from another shell, with BACKEND_KEY and OPS_KEY exported as keys of yours first:",
            f"export BOT={bot_url}",
        ]
    if emulator is not None:
        lines += _emulator_steps(emulator.url, access_key)
    else:
        lines.append("export ROOM_ID=<a room of your ACS resource whose call is running>")
    lines += [
        "# connect the bot to the room's call, list live calls, end the call for everyone:",
        'curl -s -i -X POST -H "Authorization: Bearer $BACKEND_KEY" "$BOT/api/rooms/$ROOM_ID/connect"; echo',
        'curl -s -i -H "Authorization: Bearer $OPS_KEY" "$BOT/ops/calls"; echo',
        'curl -s -i -X POST -H "Authorization: Bearer $OPS_KEY" "$BOT/ops/rooms/$ROOM_ID/end"; echo',
        "",
        READY_LINE,
    ]
    return lines


def _emulator_steps(emulator_url: str, access_key: str) -> list[str]:
    # The Identity and Rooms APIs are HMAC-signed, which curl cannot do: the official SDK does it.
    # Clients are built from parts because from_connection_string would force https. The room is
    # the README's: a Presenter, an Attendee and a Consumer, so its announcement examples work.
    return [
        f"export EMU={emulator_url}",
        "# users and a room (the Identity and Rooms APIs are HMAC-signed: the official SDK signs them):",
        f"eval \"$({sys.executable} - <<'EOF'",
        "import logging; logging.disable(logging.WARNING)  # the SDK warns about its own timestamps",
        "from azure.core.credentials import AzureKeyCredential",
        "from azure.communication.identity import CommunicationIdentityClient",
        "from azure.communication.rooms import ParticipantRole, RoomParticipant, RoomsClient",
        f'key = AzureKeyCredential("{access_key}")',
        f'identity = CommunicationIdentityClient("{emulator_url}", key)',
        "doctor, patient, observer = (identity.create_user() for _ in range(3))",
        f'room = RoomsClient("{emulator_url}", key).create_room(pstn_dial_out_enabled=True, participants=[',
        "    RoomParticipant(communication_identifier=doctor, role=ParticipantRole.PRESENTER),",
        "    RoomParticipant(communication_identifier=patient, role=ParticipantRole.ATTENDEE),",
        "    RoomParticipant(communication_identifier=observer, role=ParticipantRole.CONSUMER)])",
        'print(f"export ROOM_ID={room.id} DOCTOR={doctor.raw_id} '
        'PATIENT={patient.raw_id} OBSERVER={observer.raw_id}")',
        "EOF",
        ')"',
        "# they join the room's call (emulator control API, no auth); the first one starts it:",
        'for USER_ID in "$DOCTOR" "$PATIENT" "$OBSERVER"; do',
        '  curl -s -i -X POST "$EMU/emulator/rooms/$ROOM_ID/participants/$USER_ID:join"; echo',
        "done",
    ]


def bind_address(host: str, bot_url: str) -> str:
    """``host:port`` as bound (``0.0.0.0:8080``), the port taken from the bot's URL."""
    port = urlsplit(bot_url).port
    shown = f"[{host}]" if ":" in host else (host or "0.0.0.0")  # noqa: S104 (shown, not bound)
    return f"{shown}:{port}"


def _reason(exc: OSError) -> str:
    # The errno's own words: asyncio and socket wrap them in longer texts that repeat the address.
    return os.strerror(exc.errno) if exc.errno else str(exc)


def _fail(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


async def _start(
    settings: Settings, args: argparse.Namespace
) -> tuple[RunningBot, RunningEmulator | None, Wiring]:
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise StartError(f"cannot listen on {args.host}:{args.port}: {_reason(exc)}", 1) from None
    bot_url = socket_url(args.host, sock)
    emulator: RunningEmulator | None = None
    try:
        if settings.acs_connection_string is None:
            try:
                emulator = await start_emulator(EmulatorConfig(), host=EMULATOR_HOST, port=args.emulator_port)
            except OSError as exc:
                where = f"{EMULATOR_HOST}:{args.emulator_port}"
                raise StartError(
                    f"cannot start the embedded emulator on {where}: {_reason(exc)}", 1
                ) from None
        wiring = wire(settings, emulator, bot_url)
        try:
            bot = await start_bot(wiring.settings, sock, bot_url, access_log=True)
        except SpeechConfigurationError as exc:
            raise StartError(f"invalid settings: {exc}", 2) from None
        except PluginError as exc:
            raise StartError(f"cannot load the handlers: {exc}", 2) from None
        except (StateStoreError, OSError) as exc:
            raise StartError(f"cannot start: {exc}", 1) from None
    except BaseException:
        sock.close()
        if emulator is not None:
            await emulator.close()
        raise
    return bot, emulator, wiring


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Installed first, so that a signal during start-up still ends in a clean shutdown.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        try:
            bot, emulator, wiring = await _start(settings, args)
        except StartError as exc:
            _fail(str(exc))
            return exc.status
        # Start-up is over: what it made stays for the process's life (see `gc_tuning`).
        tune_after_start_up()
        try:
            print("\n".join(banner(wiring, bot.url, emulator, bind_address(args.host, bot.url))), flush=True)
            await stop.wait()
            logger.info("stopping")
        finally:
            # The bot first: its handlers may still talk to the emulator while they stop.
            await bot.close()
            if emulator is not None:
                await emulator.close()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    print("roombot stopped.", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM: 0 then, 2 for invalid options or settings, 1 if it cannot start."""
    for option, port in (("--port", args.port), ("--emulator-port", args.emulator_port)):
        if not 0 <= port <= 65535:
            _fail(f"{option} must be between 0 and 65535")
            return 2
    try:
        settings = load_settings()
    except ValidationError as exc:
        _fail(format_settings_error(exc))
        return 2
    except UnknownSettingError as exc:
        _fail(str(exc))
        return 2
    problem = emulator_problem(settings, args)
    if problem is not None:
        _fail(problem)
        return 2
    problem = production_problem(settings)
    if problem is not None:
        _fail(f"invalid settings: {problem}")
        return 2
    configure_logging(settings.log_level, settings.log_format)
    return asyncio.run(_serve(settings, args))
