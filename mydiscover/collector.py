"""Python's cycle collector, paused for the blocks that build many objects and no cycles.

Reading a large library or scoring one track at a time makes hundreds of thousands of small
objects that live on (rows, tuples, strings): each time their count crosses the collector's
threshold it sweeps the whole growing heap again, for nothing, as none of them is in a cycle.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cycle collector off for the block (on again after it, if it was on)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
