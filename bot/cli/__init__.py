"""The ``roombot`` console script: a thin dispatcher over one function per subcommand.

A subcommand is registered by an ``_add_<name>`` function that builds its parser and sets
``run`` to the function that executes it and returns the exit status.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from bot.cli import serve
from bot.demo import runner as demo

# The one place the bot reaches into the emulator: the CLI wires it as a command.
from emulator import cli as emulator_cli

Runner = Callable[[argparse.Namespace], int]
DISTRIBUTION = "acs-roombot"


def installed_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed)"


def _add_emulator(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subcommands.add_parser(
        "emulator",
        help="run the local ACS emulator alone and print its connection string",
        description="Run the local ACS emulator (Rooms, Identity, Call Automation) until Ctrl+C.",
    )
    emulator_cli.add_arguments(parser)
    parser.set_defaults(run=run_emulator)


def run_emulator(args: argparse.Namespace) -> int:
    return emulator_cli.run(args)


def _add_serve(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subcommands.add_parser(
        "serve",
        help="run the bot (on an embedded emulator when no ACS connection string is set)",
        description="Run the bot until Ctrl+C. Settings come from ROOMBOT_* variables and .env; with no "
        "ROOMBOT_ACS_CONNECTION_STRING the emulator runs in the same process and the bot is wired to it.",
    )
    serve.add_arguments(parser)
    parser.set_defaults(run=serve.run)


def _add_demo(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subcommands.add_parser(
        "demo",
        help="play a telehealth visit on an emulator through the public APIs and print its timeline",
        description="Start an emulator and the bot, play a scripted telehealth visit through the public "
        "HTTP APIs and print a timeline. Exit 0 when every step happened, 1 naming the one that did not.",
    )
    demo.add_arguments(parser)
    parser.set_defaults(run=demo.run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roombot", description="Call Automation bot for Azure Communication Services Rooms."
    )
    parser.add_argument("--version", action="version", version=f"roombot {installed_version()}")
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_serve(subcommands)
    _add_demo(subcommands)
    _add_emulator(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Runner = args.run
    return run(args)
