"""Keep Python's full garbage-collection passes short while answers stream.

A full (generation 2) collection walks every tracked object, and while it runs nothing
is drawn and no key is handled. A Textual app holds tens of thousands of objects
(styles, widgets, the caches of rendered lines: every ``Strip`` carries seven small
caches of its own), so the size of that heap decides how long each pause is. Measured
with ``benchmarks/bench_tui_stream.py`` on a 20,000-token answer:

* :func:`freeze_startup_objects`: what exists once the app is up (modules, classes,
  stylesheets: about 70,000 objects) is collected once and frozen, so no later pass walks
  it again;
* :func:`drop_removed_line_caches`: Textual kept the rendered lines of removed widgets
  alive, and the heap grew by about 5,000 objects a second of streaming (from 50,000 to
  190,000 in 40 s), so each full pass took longer than the last: 65 ms at the start of
  the stream, 320 ms at its end. Let go of, the heap stays near 50,000 objects and the
  passes take 15-60 ms.

Tried and left out:

* raising the full-pass threshold while a stream runs (40 young passes instead of
  CPython's 10): once the heap stopped growing, fewer but longer pauses made the render
  lag worse (median 53 ms vs 47 ms over 5 runs, worst 77 vs 53) and cost more CPU;
* freezing during the stream: the widgets folded out of view die after they were frozen,
  so they pile up (about a million objects in a 20,000-token answer) and the pass that
  finally frees them stalls the app for 1.5-2 s.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then exempt every surviving object from future full passes."""
    gc.collect()
    gc.freeze()


def drop_removed_line_caches() -> None:
    """Let go of the rendered lines of widgets that were removed.

    Textual 8's ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a method, so its
    keys hold the line caches of the last 1024 widgets drawn, removed ones included,
    with every line they rendered and each line's own caches. Clearing it costs a few
    recomputed colour pairs.
    """
    from h2otui.widgets.textual_compat import clear_line_cache_retention

    clear_line_cache_retention()
