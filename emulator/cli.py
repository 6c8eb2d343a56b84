"""``roombot emulator``: run the ACS emulator on its own until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import math
import re
import signal
import sys
from pathlib import Path

from emulator.config import ACS_CALLBACK_ISSUER, DEFAULT_PORT, DEV_ACCESS_KEY, DEV_RESOURCE_ID, EmulatorConfig
from emulator.server import RunningEmulator, start_emulator
from emulator.tls import TlsFiles, default_directory, ensure_tls_files

PROG = "roombot emulator"
_ALL_INTERFACES = {"0.0.0.0", "::", ""}  # noqa: S104 (names to recognise, not to bind)


class UsageError(Exception):
    """An invalid option value; reported as one line on stderr with exit status 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port, 0 for a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--access-key",
        default=DEV_ACCESS_KEY,
        help="base64 access key that clients sign requests with (default: the documented dev key)",
    )
    parser.add_argument(
        "--resource-id",
        default=DEV_RESOURCE_ID,
        help="immutable resource id: audience of callback JWTs and part of user ids (default: %(default)s)",
    )
    parser.add_argument(
        "--issuer",
        default=ACS_CALLBACK_ISSUER,
        help="iss of callback JWTs and issuer of the OpenID configuration (default: ACS's own, %(default)s)",
    )
    parser.add_argument(
        "--recording-host",
        default=None,
        help="host name written into recording file locations (same scheme and port); the SDKs"
        " download only from ACS storage hosts such as recordings.emulator.asm.skype.com",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiplier for simulated durations (ringing, prompts, timeouts); 0.05 is 20x faster",
    )
    parser.add_argument(
        "--tls", action="store_true", help="serve HTTPS with a certificate signed by a local CA it prints"
    )
    parser.add_argument(
        "--tls-dir",
        type=Path,
        default=None,
        help=f"where the CA and server certificate are kept and reused (default: {default_directory()})",
    )


def _config(args: argparse.Namespace) -> EmulatorConfig:
    try:
        key = base64.b64decode(args.access_key, validate=True)
    except (binascii.Error, ValueError):
        raise UsageError("--access-key must be valid base64") from None
    if not key:
        raise UsageError("--access-key must not be empty")
    if not math.isfinite(args.time_scale) or args.time_scale <= 0:
        raise UsageError("--time-scale must be a number greater than 0")
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    if not args.resource_id.strip():
        raise UsageError("--resource-id must not be empty")
    if not args.issuer.strip():
        raise UsageError("--issuer must not be empty")
    if args.recording_host is not None and not re.fullmatch(
        r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", args.recording_host
    ):
        raise UsageError("--recording-host must be a host name")
    return EmulatorConfig(
        access_key=args.access_key,
        resource_id=args.resource_id,
        time_scale=args.time_scale,
        issuer=args.issuer.strip(),
        recording_host=args.recording_host,
    )


def _public_host(host: str, tls: bool) -> str:
    """The host name written into URLs; with TLS it must be one the certificate names."""
    if tls:
        return "localhost"
    if host in _ALL_INTERFACES:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _announce(running: RunningEmulator, tls: TlsFiles | None) -> None:
    lines = [
        f"ACS emulator listening on {running.url}",
        f"  connection string: {running.connection_string}",
        f"  resource id:       {running.config.resource_id}",
        f"  callback issuer:   {running.config.issuer}",
        f"  callback keys:     {running.url}/calling/.well-known/acsopenidconfiguration",
        f"  recording files:   {running.config.storage_url(running.url)}/v1/objects/...",
        f"  time scale:        {running.config.time_scale:g}",
    ]
    if tls is None:
        lines.append(
            "  SDK clients force https with from_connection_string; over http build them from parts"
            f" with the URL above, e.g. RoomsClient({running.url!r}, AzureKeyCredential(key)), or use --tls."
        )
    else:
        ca = tls.ca_file
        lines.append(f"  CA file:           {ca}")
        lines.append(f"  trust it with:     export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca}")
        lines.append(f"  (Node.js):         export NODE_EXTRA_CA_CERTS={ca}")
    lines.append("Press Ctrl+C to stop.")
    print("\n".join(lines), flush=True)


async def _serve(config: EmulatorConfig, args: argparse.Namespace) -> int:
    try:
        extra = (config.recording_host,) if config.recording_host else ()
        tls = ensure_tls_files(args.tls_dir, extra_names=extra) if args.tls else None
    except OSError as exc:
        print(f"{PROG}: error: cannot prepare the TLS certificate: {exc}", file=sys.stderr)
        return 1
    try:
        running = await start_emulator(
            config,
            host=args.host,
            port=args.port,
            ssl_context=tls.server_context() if tls else None,
            public_host=_public_host(args.host, tls is not None),
        )
    except OSError as exc:
        reason = exc.strerror or exc
        print(f"{PROG}: error: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        _announce(running, tls)
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await running.close()
    print("ACS emulator stopped.", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the emulator until SIGINT/SIGTERM; 0 then, 2 for invalid options, 1 if it cannot start."""
    try:
        config = _config(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(config, args))
