"""``roombot demo``: start an emulator and the bot in this process, play the telehealth scenario
through the public HTTP APIs, and print a timeline. Exit 0 when every step happened, 1 naming
the step that did not, 2 for invalid options or settings.

``--keep-running`` leaves the end to a person: the scenario stops before the operator ends the
call, and both servers keep running (with the consoles' URLs and the ops key printed) until
Ctrl+C, so that the call, its dial-out and its announcements can be watched on the operator
console's timeline and the call ended with its button.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TextIO

import aiohttp
from azure.communication.identity.aio import CommunicationIdentityClient
from azure.communication.rooms.aio import RoomsClient
from azure.core.credentials import AzureKeyCredential
from pydantic import ValidationError

from bot.demo.context import DemoContext, StepFailed
from bot.demo.scenario import TELEHEALTH, Step
from bot.demo.timeline import Timeline
from bot.embedded import (
    bind,
    emulator_overrides,
    generated_api_key,
    socket_url,
    start_bot,
    with_overrides,
)
from bot.logs import configure_logging
from bot.plugins import PluginError
from config.settings import Settings, UnknownSettingError, format_settings_error, load_settings

# The demo runs its own emulator: it is the embedded default, wired by the CLI.
from emulator.config import EmulatorConfig
from emulator.server import start_emulator

PROG = "roombot demo"
# Ringing, prompts and DTMF timeouts run 20x faster: the whole visit takes a few seconds.
DEFAULT_TIME_SCALE = 0.05
HOST = "127.0.0.1"
# A guard against a stuck run, in real seconds; never an expectation about speed.
DEFAULT_WAIT_SECONDS = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help="multiplier for the emulator's simulated durations (default: %(default)s)",
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="stop before the call is ended and keep the bot and emulator running until Ctrl+C",
    )
    parser.add_argument(
        "--wait-seconds",
        type=float,
        default=DEFAULT_WAIT_SECONDS,
        help="longest wait for one step's outcome before the demo fails (default: %(default)s)",
    )


async def play(steps: Sequence[Step], ctx: DemoContext, timeline: Timeline) -> int:
    """Run the steps in order; 0 when all happened, else 1 after naming the failing step."""
    for step in steps:
        try:
            text = await step.run(ctx)
        except StepFailed as exc:
            reason = str(exc)
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = f"HTTP request failed: {exc!r}"
        except Exception as exc:
            # The demo's job is to say which step did not happen, whatever the cause
            # (an SDK error from the Identity or Rooms API included).
            reason = f"{type(exc).__name__}: {exc}"
        else:
            timeline.mark(text)
            continue
        timeline.mark(f"FAILED  {step.name}: {reason}")
        timeline.say(f"demo failed at step '{step.name}'")
        return 1
    timeline.say(f"demo complete: {len(steps)} steps in {timeline.elapsed():.3f}s")
    return 0


@asynccontextmanager
async def _clients(
    emulator_url: str, access_key: str
) -> AsyncIterator[tuple[aiohttp.ClientSession, CommunicationIdentityClient, RoomsClient]]:
    credential = AzureKeyCredential(access_key)
    # Built from parts: from_connection_string would force https and miss the emulator.
    async with (
        aiohttp.ClientSession() as http,
        CommunicationIdentityClient(emulator_url, credential, retry_total=0) as identity,
        RoomsClient(emulator_url, credential, retry_total=0) as rooms,
    ):
        yield http, identity, rooms


async def run_demo(
    settings: Settings,
    *,
    steps: Sequence[Step] = TELEHEALTH,
    time_scale: float = DEFAULT_TIME_SCALE,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    out: TextIO | None = None,
    keep_running: bool = False,
) -> int:
    """Play ``steps`` on a fresh emulator and bot (both on free loopback ports) and print the
    timeline to ``out`` (stdout by default); 0 when every step happened, else 1.

    ``settings`` supplies everything the demo does not decide itself (handler configuration,
    menus file); ACS, callback URL, API keys and state store are the demo's own.
    """
    emulator = await start_emulator(EmulatorConfig(time_scale=time_scale), host=HOST, port=0)
    try:
        sock = bind(HOST, 0)
        bot_url = socket_url(HOST, sock)
        keys = {"backend_api_keys": generated_api_key(), "ops_api_keys": generated_api_key()}
        overrides = {
            **emulator_overrides(emulator, bot_url, settings),
            # The demo's own bot, whatever the environment says: callbacks reach it here, and
            # its state lives in memory so that the demo leaves nothing behind.
            "callback_base_url": bot_url,
            "state_url": "memory://",
            **{field: {key} for field, key in keys.items()},
        }
        try:
            final = with_overrides(settings, overrides)
            bot = await start_bot(final, sock, bot_url, access_log=False)
        except BaseException:
            sock.close()
            raise
        try:
            timeline = Timeline(out)
            timeline.say("roombot demo: a telehealth visit, played through the public HTTP APIs")
            timeline.say(f"  emulator {emulator.url}   bot {bot_url}")
            timeline.say(f"  operator console {bot_url}/console  (ops key {keys['ops_api_keys']})")
            timeline.say(f"  emulator console {emulator.url}/emulator/console")
            if keep_running:
                steps = [step for step in steps if step.name not in ENDING_STEPS]
            async with _clients(emulator.url, emulator.config.access_key) as (http, identity, rooms):
                ctx = DemoContext(
                    http=http,
                    identity=identity,
                    rooms=rooms,
                    emulator_url=emulator.url,
                    bot_url=bot_url,
                    backend_key=keys["backend_api_keys"],
                    ops_key=keys["ops_api_keys"],
                    wait_seconds=wait_seconds,
                )
                status = await play(steps, ctx, timeline)
                if status == 0 and keep_running:
                    await _until_stopped(timeline, bot_url, ctx)
                return status
        finally:
            await bot.close()
    finally:
        await emulator.close()


# The steps --keep-running leaves to a person at the operator console.
ENDING_STEPS = frozenset({"end for everyone", "call ended"})


async def _until_stopped(timeline: Timeline, bot_url: str, ctx: DemoContext) -> None:
    timeline.say(
        f"the call in room {ctx.room_id} is still running: watch it at {bot_url}/console "
        "and end it there with End for everyone"
    )
    timeline.say("Press Ctrl+C to stop.")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    timeline.say("demo stopped.")


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    return 2


def run(args: argparse.Namespace) -> int:
    if not math.isfinite(args.time_scale) or args.time_scale <= 0:
        return _fail("--time-scale must be a number greater than 0")
    if not math.isfinite(args.wait_seconds) or args.wait_seconds <= 0:
        return _fail("--wait-seconds must be a number greater than 0")
    try:
        settings = load_settings()
    except ValidationError as exc:
        return _fail(format_settings_error(exc))
    except UnknownSettingError as exc:
        return _fail(str(exc))
    # The timeline is the demo's output; only warnings and errors are logged next to it, unless
    # ROOMBOT_LOG_LEVEL asks for more.
    level = settings.log_level if "log_level" in settings.model_fields_set else logging.WARNING
    configure_logging(level, settings.log_format)
    try:
        return asyncio.run(
            run_demo(
                settings,
                time_scale=args.time_scale,
                wait_seconds=args.wait_seconds,
                keep_running=args.keep_running,
            )
        )
    except ValidationError as exc:
        return _fail(format_settings_error(exc))
    except PluginError as exc:
        return _fail(str(exc))
