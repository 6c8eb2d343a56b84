"""The Dockerfile, read as text (no Docker engine runs here): production-shaped and in step with
the project it packages."""

from __future__ import annotations

import json
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arguments for found, arguments in self.instructions if found == keyword]


def parse(text: str) -> list[Stage]:
    """Instructions per stage: continuation lines joined, comments and blank lines dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line.strip())
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        else:
            assert stages, f"{keyword} before any FROM"
            stages[-1].instructions.append((keyword, arguments.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def copied_sources(stage: Stage) -> set[str]:
    sources: set[str] = set()
    for arguments in stage.all("COPY"):
        words = [word for word in shlex.split(arguments) if not word.startswith("--")]
        sources.update(word.rstrip("/") for word in words[:-1])
    return sources


def test_it_has_a_build_stage_and_a_runtime_stage(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    build, runtime = stages[0], stages[-1]
    assert build.name
    assert runtime.base.startswith("python:3.11")
    # The runtime stage takes only the built wheels from the build stage, not the sources.
    assert any(arguments.startswith(f"--from={build.name} ") for arguments in runtime.all("COPY"))
    assert not copied_sources(runtime) - {"/wheels"}


def wheel_dir(build: Stage) -> str:
    [wheel] = [run for run in build.all("RUN") if "pip wheel" in run]
    words = shlex.split(wheel)
    assert words[-1] == ".", "the build stage must build a wheel of the project itself"
    return words[words.index("--wheel-dir") + 1]


def test_the_build_stage_makes_wheels_of_the_project(stages: list[Stage], pyproject: dict[str, Any]) -> None:
    build, runtime = stages[0], stages[-1]

    wheels = wheel_dir(build)

    assert any(arguments.startswith(f"--from={build.name} {wheels}") for arguments in runtime.all("COPY"))
    # Everything `pip wheel .` reads is copied in: the metadata, the readme, every package.
    packages = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    wanted = {"pyproject.toml", pyproject["project"]["readme"]} | {p.rstrip("*") for p in packages}
    assert wanted <= copied_sources(build)


def test_every_copied_source_exists(stages: list[Stage]) -> None:
    for source in copied_sources(stages[0]):
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


def test_the_runtime_installs_the_wheels_and_runs_as_a_user(stages: list[Stage]) -> None:
    runtime = stages[-1]

    assert any("pip install" in run and "/wheels/" in run for run in runtime.all("RUN"))
    users = runtime.all("USER")
    assert users, "the runtime stage must switch to an unprivileged USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    # Nothing runs as root after the switch.
    keywords = [keyword for keyword, _ in runtime.instructions]
    assert "RUN" not in keywords[keywords.index("USER") :]


def test_it_serves_on_8080_with_a_healthcheck_on_healthz(stages: list[Stage]) -> None:
    runtime = stages[-1]

    assert runtime.all("EXPOSE") == ["8080"]
    [healthcheck] = runtime.all("HEALTHCHECK")
    assert "CMD" in healthcheck
    assert "127.0.0.1:8080/healthz" in healthcheck or "localhost:8080/healthz" in healthcheck
    [entrypoint] = runtime.all("ENTRYPOINT")
    [command] = runtime.all("CMD")
    argv = json.loads(entrypoint) + json.loads(command)
    assert argv[:2] == ["roombot", "serve"]
    assert argv[argv.index("--port") + 1] == "8080"
    assert argv[argv.index("--host") + 1] == "0.0.0.0"  # noqa: S104  (a container listens on all)
    # Without a connection string, serve refuses a public host: the image fails fast instead of
    # running the development emulator (tests/e2e/test_serve_cli.py runs that refusal).
    assert "--emulator" not in argv
    assert not any(name.startswith("ROOMBOT_ACS_CONNECTION_STRING") for name in runtime.all("ENV"))


def test_the_console_script_the_image_runs_is_declared(pyproject: dict[str, Any]) -> None:
    assert pyproject["project"]["scripts"]["roombot"] == "bot.cli:main"
