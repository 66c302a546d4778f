"""The streaming GC policy: rare full passes while answers stream, one pass after."""

from __future__ import annotations

import gc
import weakref

from h2otui.gc_pause import STREAM_FULL_PASS_EVERY, StreamingGc


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_holds_are_counted_and_the_last_release_restores_and_collects():
    before = gc.get_threshold()
    policy = StreamingGc()
    policy.acquire()
    policy.acquire()  # a second stream (e.g. model compare) overlaps the first
    try:
        assert gc.get_threshold()[2] == max(before[2], STREAM_FULL_PASS_EVERY)
        cycle = Node()
        ref = weakref.ref(cycle)
        del cycle
        policy.release()
        assert policy.active
        assert gc.get_threshold()[2] == max(before[2], STREAM_FULL_PASS_EVERY)
        policy.release()
        assert not policy.active
        assert gc.get_threshold() == before
        assert ref() is None, "the closing full pass did not free the cycle"
        policy.release()  # an extra release is harmless
        assert gc.get_threshold() == before
    finally:
        gc.set_threshold(*before)
