"""Every command block of README.md works pasted into a shell, in order, on a fresh clone.

The ```sh blocks run as a reader runs them: the one marked ``<!-- readme-test: server -->`` in a
first shell (it starts the bot and stays up), all unmarked ones, in order, in one second shell.
A block marked ``<!-- readme-test: skip: <reason> -->`` needs what this machine has not (an
Azure subscription, Docker) or waits for a person, and is listed with its reason. The only
change made to the blocks is the ports: free ones instead of 8080 and 8081, so that the test
never meets a roombot already running here. Every HTTP answer the second shell shows must be 2xx.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli_process import READY_LINE, clean_env, run_to_completion

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKER = re.compile(r"<!-- readme-test: (server|skip: (?P<reason>.+?)) -->")
BLOCK = re.compile(r"(?:^(?P<marker><!-- readme-test: [^\n]*-->)\n)?^```sh\n(?P<code>.*?)^```$", re.M | re.S)
STARTUP_SECONDS = 120.0
SHELL_SECONDS = 180.0


@dataclass(frozen=True)
class Block:
    code: str
    kind: str  # "server", "skip" or "run"
    reason: str = ""


def blocks() -> list[Block]:
    found = []
    for match in BLOCK.finditer(README.read_text()):
        marker = MARKER.fullmatch(match["marker"] or "")
        if match["marker"] and marker is None:
            raise AssertionError(f"unknown README test marker: {match['marker']}")
        if marker is None:
            found.append(Block(match["code"], "run"))
        elif marker[1] == "server":
            found.append(Block(match["code"], "server"))
        else:
            found.append(Block(match["code"], "skip", marker["reason"]))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_clone(into: Path) -> Path:
    """The repository's files (tracked, and new ones not ignored) as a clone has them, sharing
    this checkout's .venv; modification times are kept, so `make` sees the venv as set up."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    clone = into / "roombot"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    (clone / ".venv").symlink_to(ROOT / ".venv")
    return clone


@asynccontextmanager
async def first_shell(code: str, cwd: Path) -> AsyncIterator[list[str]]:
    """Run ``code`` in its own session until its banner's ready line; then Ctrl+C, as a reader
    stops it (SIGINT to its process group)."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        code,
        cwd=cwd,
        env=clean_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(STARTUP_SECONDS):
            while (line := (await process.stdout.readline()).decode()) and line.rstrip() != READY_LINE:
                lines.append(line.rstrip())
        assert process.returncode is None, lines
        yield lines
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 30)
        lines += rest.decode().splitlines()


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("make") is None, reason="needs curl and make"
)
async def test_every_readme_command_block_works_pasted_in_order(tmp_path: Path) -> None:
    found = blocks()
    servers = [block for block in found if block.kind == "server"]
    assert len(servers) == 1, "one block starts the bot"
    for block in found:
        if block.kind == "skip":
            print(f"README block not run here: {block.reason}")
    clone = fresh_clone(tmp_path)
    code, _, _ = await run_to_completion("make", "-q", "setup", cwd=clone, env=clean_env())
    if code != 0:
        pytest.skip("the .venv is older than pyproject.toml: run `make setup` (make test does) first")
    bot, emulator = free_port(), free_port()

    def ported(text: str) -> str:
        text = text.replace("127.0.0.1:8080", f"127.0.0.1:{bot}").replace(
            "127.0.0.1:8081", f"127.0.0.1:{emulator}"
        )
        return text.replace("make serve", f'make serve ARGS="--port {bot} --emulator-port {emulator}"')

    script = clone / "second-shell.sh"
    script.write_text("set -euo pipefail\n" + "\n".join(ported(b.code) for b in found if b.kind == "run"))
    async with first_shell(ported(servers[0].code), clone) as served:
        code, out, err = await run_to_completion(
            "bash", str(script), cwd=clone, env=clean_env(), within=SHELL_SECONDS
        )
    transcript = out + err
    assert code == 0, transcript[-5000:] + "\n".join(served[-40:])
    statuses = [int(status) for status in re.findall(r"^HTTP/1\.1 (\d{3})", transcript, re.M)]
    assert len(statuses) >= 15, transcript
    assert all(200 <= status < 300 for status in statuses), (statuses, transcript[-5000:])
    # The interpreter confirmed by the time the README looks again.
    assert '"status": "confirmed"' in out
    # The bot waited for the room's call and joined it when the doctor came back.
    assert '"status": "waiting"' in out
    assert out.rindex('"state": "connected"') > out.index('"status": "waiting"')
    # The recording, on the call the doctor and the patient started again, was paused and resumed.
    assert re.search(r'"status": "paused"', out[out.rindex('"status": "waiting"') :]), out[-3000:]
    assert "roombot stopped." in served
