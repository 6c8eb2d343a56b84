"""The benchmarks run: each with tiny counts, its report checked for shape, never for speed."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import callbacks, facade
from bench.common import machine
from emulator.config import DEV_ACCESS_KEY
from emulator.protocol.hmac_auth import verify
from tests.support.cli_process import run_to_completion

REPO = Path(__file__).resolve().parents[2]
# Guards against a hung child, not expectations about speed.
RUN_TIMEOUT = 120.0
NUMBER = r"[\d,]+(?:\.\d+)?"
RATIO = r"(?:\d+\.\dx|n/a)"


async def test_callback_benchmark_reports_rates_for_both_sides() -> None:
    result = await callbacks.measure(posts=6, runs=1, concurrency=2)
    assert result.posts == 6
    assert result.events >= result.posts
    assert result.bare_events_per_second > 0
    assert set(result.bot_events_per_second) == {"memory://", "sqlite (file)"}
    assert all(rate > 0 for rate in result.bot_events_per_second.values())
    header, bare, *bots = result.lines()
    assert re.fullmatch(
        r"callback ingestion: 6 POSTs \(\d+ events, [\d.]+ per POST\), 2 in flight, median of 1 run\(s\)",
        header,
    )
    assert re.fullmatch(rf"  bare aiohttp handler \(json\.loads only\)\s+{NUMBER} events/s", bare)
    for line in bots:
        assert re.fullmatch(
            rf"  roombot /api/callbacks, state \S+(?: \(file\))?\s+{NUMBER} events/s"
            rf"   bare/roombot = {RATIO}",
            line,
        )


async def test_facade_benchmark_reports_costs_of_both_sides() -> None:
    result = await facade.measure(actions=2, runs=1)
    assert [cost.action for cost in result.costs] == ["get_call", "list_participants"]
    for cost in result.costs:
        assert min(cost.bare_cpu_ms, cost.facade_cpu_ms) >= 0
        assert min(cost.bare_wall_ms, cost.facade_wall_ms) > 0
    lines = result.lines()
    assert lines[0].startswith(
        "one ACS action, emulator in its own process: 2 actions per run, median of 1 run(s)"
    )
    assert re.fullmatch(r"\s+CPU ms/action\s+wall ms/action", lines[1])
    rows = lines[2:]
    assert len(rows) == 6
    for action, rows_of_action in zip(("get_call", "list_participants"), (rows[:3], rows[3:]), strict=True):
        bare, through_facade, ratio = rows_of_action
        assert re.fullmatch(rf"  {action}, bare aiohttp \+ HMAC\s+{NUMBER}\s+{NUMBER}", bare)
        assert re.fullmatch(rf"  {action}, roombot facade \(SDK\)\s+{NUMBER}\s+{NUMBER}", through_facade)
        assert re.fullmatch(rf"  {action}, facade/bare\s+{RATIO}\s+{RATIO}", ratio)


def test_bare_requests_carry_the_signature_acs_checks() -> None:
    url = "http://127.0.0.1:8081/calling/callConnections/abc?api-version=2026-03-12"
    headers = facade.signed_headers(DEV_ACCESS_KEY, "GET", url)
    # Raises the emulator's 401 error unless the signature is right.
    verify(
        access_key=DEV_ACCESS_KEY,
        method="GET",
        raw_path_and_query="/calling/callConnections/abc?api-version=2026-03-12",
        host="127.0.0.1:8081",
        headers={name.lower(): value for name, value in headers.items()},
        body=b"",
        now=datetime.now(UTC),
        max_skew_seconds=60,
    )


def test_the_machine_line_names_cores_and_python() -> None:
    assert re.search(r", \d+ cores, \w+ \d+\.\d+\.\d+$", machine())


async def test_python_m_bench_quick_prints_every_benchmark() -> None:
    code, out, err = await run_to_completion(
        sys.executable, "-m", "bench", "--quick", cwd=REPO, within=RUN_TIMEOUT
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("roombot benchmarks on ")
    assert any(line.startswith("callback ingestion: ") for line in lines)
    assert any(line.startswith("one ACS action, ") for line in lines)
    assert sum("bare/roombot = " in line for line in lines) == 2
    assert sum(", facade/bare" in line for line in lines) == 2


async def test_python_m_bench_refuses_zero_runs() -> None:
    code, out, err = await run_to_completion(
        sys.executable, "-m", "bench", "--runs", "0", cwd=REPO, within=RUN_TIMEOUT
    )
    assert code == 2
    assert out == ""
    assert err.splitlines() == ["python -m bench: error: --runs must be at least 1"]


async def test_python_m_bench_measures_the_stores_it_is_given() -> None:
    code, out, err = await run_to_completion(
        sys.executable,
        "-m",
        "bench",
        "--quick",
        "--only",
        "callbacks",
        "--store",
        "memory://",
        cwd=REPO,
        within=RUN_TIMEOUT,
    )
    assert code == 0, err
    measured = [line for line in out.splitlines() if "bare/roombot = " in line]
    assert len(measured) == 1
    assert "state memory://" in measured[0]
    assert not any(line.startswith("one ACS action, ") for line in out.splitlines())
