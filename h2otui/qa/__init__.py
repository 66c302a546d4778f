"""Document QA: retrieval (vector, full-text, hybrid), context filling, actions
(query / summarize / extract) and numbered citations.

Light on import: nothing here imports LanceDB, llama.cpp or Textual at module level,
so ``h2otui ask --collection`` pays for them only when it uses them.

* :mod:`h2otui.qa.embed` -- query embeddings with numpy (no sentence-transformers).
* :mod:`h2otui.qa.retrieval` -- :class:`Retriever`: vector / full-text / hybrid (RRF),
  ``cut_distance``, document filters, merging neighbouring chunks.
* :mod:`h2otui.qa.context` -- fitting documents and history into the model's context.
* :mod:`h2otui.qa.prompts` -- h2oGPT's document prompts.
* :mod:`h2otui.qa.citations` -- :class:`Passage` and how sources are shown.
* :mod:`h2otui.qa.pipeline` -- :func:`run_qa`, the async stream the CLI and TUI consume.
* :mod:`h2otui.qa.collection` -- opening a collection to ask it, with user-facing errors.
"""

ACTIONS = ("query", "summarize", "extract")
SEARCH_MODES = ("hybrid", "vector", "text")
