"""The collector settings `roombot serve` takes once started, checked in a fresh interpreter (so
this test process keeps the defaults)."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import gc, json
from bot.cli.gc_tuning import tune_after_start_up
before = gc.get_freeze_count()
tune_after_start_up()
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(), "thresholds": gc.get_threshold()}))
"""


def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    done = subprocess.run(  # noqa: S603  (our own interpreter, fixed arguments)
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    seen = json.loads(done.stdout)
    assert seen["before"] == 0
    # Every module and object start-up made is out of the collector's way from now on.
    assert seen["frozen"] > 10_000
    young, middle, old = seen["thresholds"]
    assert young > 700 * 10
    assert (middle, old) >= (10, 10)
