"""`settle_heap`: what a node process made while setting up is out of the garbage collector's full
collections (they rescanned it all, ~200 ms each on the 2-core host), and `kizuna serve` calls it
once set up."""

from __future__ import annotations

import gc
import inspect

from kizuna.cli import share as cli_share
from kizuna.share.node import settle_heap


def test_objects_made_before_are_frozen_and_garbage_is_not():
    made_before = [{"n": i} for i in range(1000)]  # containers the collector tracks
    cycle: list[object] = []
    cycle.append(cycle)  # garbage in a cycle: collected first, never frozen
    del cycle
    gc.unfreeze()
    try:
        settle_heap()
        frozen = gc.get_freeze_count()
        assert frozen >= len(made_before)
        assert not any(o is made_before[0] for o in gc.get_objects())  # out of every generation
    finally:
        gc.unfreeze()


def test_serve_settles_the_heap_once_set_up_and_one_shot_commands_do_not():
    assert "settle_heap()" in inspect.getsource(cli_share.serve)
    assert "settle_heap" not in inspect.getsource(cli_share.sync)
