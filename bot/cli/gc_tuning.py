"""The garbage collector of a serving bot: start-up's objects frozen, young collections rarer.

Measured at 1,000 concurrent menu calls, the p99 from a RecognizeCompleted to the bot's next
request (204-242 ms) was garbage-collection pauses (140-186 ms): full collections walking every
object of the process, most of them made once at start-up (modules, the SDKs' generated models,
pydantic's validators, the handlers and their menus) and never garbage. `gc.freeze()` moves those
to the permanent generation, which no collection walks again; and with CPython's default of a
young collection every 700 net allocations a busy event loop collects constantly and promotes
short-lived request objects into the older generations, whose collections are the long ones.
A larger young generation lets those objects die young. A young collection walks the objects
made since the last one and still alive, some 50,000 here: about 0.85 µs each on a 2-core machine,
tens of milliseconds, but a handful per thousand key presses instead of a collection every few
events and the full collections they lead to. Measured at 1,000 waiting menus (the latency
benchmark, ``bench/latency.py``, with the two thresholds below edited for each try; p99 against a
bare aiohttp reactor, 3 runs each): 50,000 and 20 gave 3.9x, a young generation of 10,000 gave
4.2x, 20,000 with 10 young collections per middle one 4.5x.
(Python documents `gc.freeze` for servers that fork; what is used here is its plain effect: the
frozen objects are never walked again.)

Only `roombot serve` calls this: tests and embedders keep the interpreter's defaults.
"""

from __future__ import annotations

import gc

# Net allocations (made less freed) between young collections (CPython: 700); about as many
# objects for a young collection to walk.
YOUNG_THRESHOLD = 50_000
# Young collections per middle one, middle ones per full one (CPython: 10 and 10). A full
# collection also waits until the long-lived objects have grown by a quarter since the last.
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 10


def tune_after_start_up() -> None:
    """Collect start-up's garbage, freeze what is left, and set the thresholds above."""
    # Collected first, or start-up's garbage would be frozen with the rest and kept for good.
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
