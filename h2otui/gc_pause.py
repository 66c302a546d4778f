"""Keep Python's full garbage-collection passes from stalling a streaming answer.

A Textual app holds a couple of hundred thousand objects (styles, widgets, and the
caches of rendered lines: every ``Strip`` carries seven small caches of its own), and a
streamed Markdown answer churns through thousands of short-lived widgets. CPython then
runs a full (generation 2) collection about every 0.75 s, and each one walks every
tracked object: 140-300 ms on this project's 2-core machines, during which nothing is
drawn and no key is handled. Measured with ``benchmarks/bench_tui_stream.py``, those
passes took a quarter of the app's CPU time during a long stream and were the largest
cause of render lag.

Two measures, in the spirit of Textual's own ``App.PAUSE_GC_ON_SCROLL``:

* :func:`freeze_startup_objects`: what exists once the app is up (modules, classes,
  stylesheets: about 70,000 objects) is collected once and frozen, so no later pass walks
  it again;
* :class:`StreamingGc`: while answers stream, full passes start only after
  ``STREAM_FULL_PASS_EVERY`` young-generation passes instead of CPython's 10 (young
  generations are collected as usual, so short-lived garbage is freed as before), and
  the last stream to end runs one full pass, after its final frame is on screen.

Freezing during the stream was tried and rejected: the widgets folded out of view die
after they were frozen, so they pile up (about a million objects in a 20,000-token
answer) and the pass that finally frees them stalls the app for 1.5-2 s.
"""

from __future__ import annotations

import gc

#: while a stream runs, a full pass comes after this many young-generation passes
#: (CPython's default is 10): 4x fewer stalls, each a little longer
STREAM_FULL_PASS_EVERY = 40


def freeze_startup_objects() -> None:
    """Collect once, then exempt every surviving object from future full passes."""
    gc.collect()
    gc.freeze()


class StreamingGc:
    """A counted hold on rare full collections (several streams may overlap)."""

    def __init__(self) -> None:
        self._holders = 0
        self._saved: tuple[int, int, int] | None = None

    @property
    def active(self) -> bool:
        return self._holders > 0

    def acquire(self) -> None:
        if self._holders == 0:
            self._saved = gc.get_threshold()
            first, second, third = self._saved
            gc.set_threshold(first, second, max(third, STREAM_FULL_PASS_EVERY))
        self._holders += 1

    def release(self) -> None:
        """End one hold; the last one restores the thresholds and collects once."""
        if self._holders == 0:
            return
        self._holders -= 1
        if self._holders == 0 and self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
            gc.collect()
