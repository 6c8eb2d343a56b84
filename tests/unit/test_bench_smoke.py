"""The benchmarks run: each with tiny counts, its report checked for shape, never for speed."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from bench import callbacks, facade, latency, scale
from bench.common import machine, paired_times
from bench.fake_acs import fake_acs
from bench.servers import target
from bot.acs import AcsFacade
from bot.testing.serving import IsolatedSettings
from emulator.config import DEV_ACCESS_KEY
from emulator.protocol.hmac_auth import verify
from tests.support.cli_process import run_to_completion

REPO = Path(__file__).resolve().parents[2]
# Guards against a hung child, not expectations about speed.
RUN_TIMEOUT = 120.0
NUMBER = r"[\d,]+(?:\.\d+)?"
RATIO = r"(?:\d+\.\dx|n/a)"


def test_a_paired_ratio_is_the_median_of_each_runs_own_ratio() -> None:
    # Run two was slow for both sides alike: the ratio of the medians (3.0 over 1.0) would print
    # 3.0x; each run's own ratio is 2, 2 and 3.
    assert paired_times([2.0, 6.0, 3.0], [1.0, 3.0, 1.0]) == "2.0x"
    assert paired_times([2.0], [0.0]) == "n/a"


async def test_callback_benchmark_reports_cpu_per_event_of_baselines_and_bot() -> None:
    result = await callbacks.measure(posts=6, runs=1, concurrency=2, stores=["memory://", "sqlite"])
    assert result.posts == 6
    assert result.events >= result.posts
    assert [side.label for side in result.sides] == [
        callbacks.BARE,
        callbacks.FLOOR,
        "roombot, memory://",
        "roombot, SQLite file (the default store)",
    ]
    assert all(side.events_per_second > 0 and side.cpu_us_per_event > 0 for side in result.sides)
    header, columns, units, *rows = result.lines()
    assert re.fullmatch(
        r"callback ingestion: 6 POSTs \(\d+ events, [\d.]+ per POST\), 2 in flight, server in its own "
        r"process, median of 1 run\(s\)",
        header,
    )
    assert columns.split() == ["events/s", "server", "CPU", "CPU", "vs", "CPU", "vs"]
    assert units.split() == ["µs/event", "bare", "floor"]
    assert len(rows) == 4
    for row in rows:
        assert re.fullmatch(rf"  .+?\s+{NUMBER}\s+{NUMBER}\s+{RATIO}\s+{RATIO}", row)


async def test_the_floor_refuses_a_callback_without_a_valid_token() -> None:
    async with (
        fake_acs() as acs,
        aiohttp.ClientSession() as session,
        target("bare-jwt", acs.bot_settings(), session) as floor,
    ):
        # Claims as ACS would sign them, with the signing key's id, but another key.
        claims = jwt.decode(acs.token(), options={"verify_signature": False})
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": acs.signer.kid})
        for authorization in ("", f"Bearer {forged}"):
            headers = {"Authorization": authorization}
            async with session.post(floor.url + "/api/callbacks", data=b"[]", headers=headers) as reply:
                assert reply.status == 401
        headers = {"Authorization": f"Bearer {acs.token()}"}
        async with session.post(floor.url + "/api/callbacks", data=b"[]", headers=headers) as reply:
            assert reply.status == 200


async def test_facade_benchmark_reports_costs_of_both_sides() -> None:
    result = await facade.measure(actions=2, runs=1)
    assert [cost.action for cost in result.costs] == ["get_call", "list_participants"]
    for cost in result.costs:
        assert min(cost.bare_cpu_ms, cost.facade_cpu_ms) >= 0
        assert min(cost.bare_wall_ms, cost.facade_wall_ms) > 0
    lines = result.lines()
    assert lines[0].startswith(
        "one ACS action, emulator and client each in its own process: 2 actions per run, median of 1 run(s)"
    )
    assert re.fullmatch(r"\s+CPU ms/action\s+wall ms/action", lines[1])
    rows = lines[2:]
    assert len(rows) == 6
    for action, rows_of_action in zip(("get_call", "list_participants"), (rows[:3], rows[3:]), strict=True):
        bare, through_facade, ratio = rows_of_action
        assert re.fullmatch(rf"  {action}, bare aiohttp \+ HMAC\s+{NUMBER}\s+{NUMBER}", bare)
        assert re.fullmatch(rf"  {action}, roombot facade \(SDK\)\s+{NUMBER}\s+{NUMBER}", through_facade)
        assert re.fullmatch(rf"  {action}, facade/bare\s+{RATIO}\s+{RATIO}", ratio)


async def test_latency_benchmark_times_each_call_of_both_sides() -> None:
    result = await latency.measure(counts=(3,), runs=2)
    runs = result.runs_by_calls[3]
    assert len(runs) == 2
    for bare, bot in runs:
        assert 0 < bare.p50_ms <= bare.p99_ms
        assert 0 < bot.p50_ms <= bot.p99_ms
    rows = result.lines()[2:]
    assert [row.split(",")[0].strip() for row in rows] == ["3 calls"] * 3
    # The ratios are the median of the runs' own ratios (of two: their mean).
    p50 = sum(bot.p50_ms / bare.p50_ms for bare, bot in runs) / 2
    p99 = sum(bot.p99_ms / bare.p99_ms for bare, bot in runs) / 2
    assert rows[2].split()[-2:] == [f"{p50:.1f}x", f"{p99:.1f}x"]


async def test_scale_benchmark_reports_each_count_of_live_calls_and_connects_by_batch() -> None:
    result = await scale.measure(counts=(3, 6), connects=5, connect_batch=2)
    assert [point.calls for point in result.points] == [3, 6]
    assert all(point.page_ms > 0 and point.metrics_ms > 0 for point in result.points)
    # Batches of 2, 2 and 1: every room was joined through the bot's connect path.
    assert len(result.connect_ms) == 3
    assert all(ms > 0 for ms in result.connect_ms)
    *rows, connects = result.lines()[2:]
    assert [row.split()[:3] for row in rows] == [["3", "live", "calls"], ["6", "live", "calls"]]
    assert re.fullmatch(
        rf"  5 connects\s+ms/connect by 2: {NUMBER} {NUMBER} {NUMBER}; last/first {RATIO}", connects
    )


async def test_the_fake_acs_answers_a_connect_as_acs_does() -> None:
    async with fake_acs() as acs, aiohttp.ClientSession() as session:
        body = {"callLocator": {"kind": "roomCallLocator", "roomId": "99"}, "callbackUri": "https://b/cb"}
        async with session.post(acs.url + "/calling/callConnections:connect", json=body) as reply:
            assert reply.status == 200
            answer = await reply.json()
    assert answer["callConnectionState"] == "connecting"
    assert answer["callbackUri"] == "https://b/cb"
    assert "serverCallId" not in answer
    assert [arrival.action for arrival in acs.arrivals[answer["callConnectionId"]]] == ["connect"]


async def test_the_fake_acs_answers_a_room_the_sdk_reads() -> None:
    async with fake_acs() as acs:
        settings = IsolatedSettings(**{"callback_base_url": "http://127.0.0.1:9/", **acs.bot_settings()})
        acs_facade = AcsFacade.from_settings(settings)
        try:
            room = await acs_facade.get_room("99")
        finally:
            await acs_facade.close()
    assert room.valid_until > datetime.now(UTC)


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
    starts = (
        "callback ingestion: ",
        "one ACS action, ",
        "DTMF event-to-action: ",
        "scale: ",
        "takeover: ",
        "remembered event ids: 2,000 random ids",
        "housekeeping with those 2,000 ids expired: ",
    )
    for start in starts:
        assert any(line.startswith(start) for line in lines), start
    assert sum(line.startswith("  roombot, ") for line in lines) >= 2
    assert sum(", facade/bare" in line for line in lines) == 2
    assert sum(", roombot/bare" in line for line in lines) == 1
    assert "what the figures mean:" in lines
    # Housekeeping expired what the SQLite store remembered (2,000 ids and the run's own).
    housekeeping = next(index for index, line in enumerate(lines) if line.startswith("housekeeping"))
    [swept] = [line for line in lines[housekeeping:] if "SQLite" in line]
    assert int(swept.split()[-1].replace(",", "")) >= 2000, swept


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
    measured = [line for line in out.splitlines() if line.startswith("  roombot, ")]
    assert measured == [line for line in measured if "roombot, memory://" in line]
    assert len(measured) == 1
    assert not any(line.startswith("one ACS action, ") for line in out.splitlines())
