"""The document prompts, in h2oGPT's shape (``src/gen.py`` docstring of ``main``).

Query::

    {pre_prompt_query}
    \"\"\"
    {documents}
    \"\"\"
    {prompt_query}{question}

Summarize / extract (``Focusing on {question}, `` is added when a question is given)::

    {pre_prompt_summary}
    \"\"\"
    {document parts}
    \"\"\"
    {prompt_summary}

The whole block is the user turn; the model's prompt type (``plain_qa`` for the embedded
model) wraps it. Documents are numbered by relevance (``[1]`` is the best match) and
written best-nearest-the-question (h2oGPT's ``best_near_prompt`` ordering), which small
models follow better.
"""

from __future__ import annotations

from collections.abc import Sequence

from h2otui.qa.citations import Passage

DEFAULT_PRE_PROMPT_QUERY = (
    "Pay attention and remember the information below, which will help to answer the "
    "question or imperative after the context ends."
)
DEFAULT_PROMPT_QUERY = (
    "According to only the information in the document sources provided within the context above, "
)
DEFAULT_PRE_PROMPT_SUMMARY = (
    "In order to write a concise summary, pay attention to the following text."
)
DEFAULT_PROMPT_SUMMARY = (
    "Using only the information in the document sources above, write a condensed and "
    "concise summary of key results (preferably as bullet points)."
)
DEFAULT_PRE_PROMPT_EXTRACTION = (
    "In order to extract information, pay attention to the following text."
)
DEFAULT_PROMPT_EXTRACTION = (
    "Using only the information in the document sources above, extract the key facts "
    "(names, numbers, dates) as a short list."
)

DOCS_OPEN = '"""'
DOCS_CLOSE = '"""'
DOCS_JOINER = "\n\n"


def passage_block(n: int, passage: Passage) -> str:
    """One numbered document in the prompt: a header line, then its text."""
    return f"{passage.label(n, with_score=False)}\n{passage.text.strip()}"


def documents_text(passages: Sequence[Passage], *, best_near_question: bool = True) -> str:
    blocks = [passage_block(n, p) for n, p in enumerate(passages, 1)]
    if best_near_question:
        blocks.reverse()
    return DOCS_JOINER.join(blocks)


def query_prompt(
    question: str, passages: Sequence[Passage], *, pre_prompt: str, prompt: str
) -> str:
    if not passages:
        # nothing relevant was found: say so to the model rather than pretend
        return (
            f"{pre_prompt}\n{DOCS_OPEN}\n(no matching documents)\n{DOCS_CLOSE}\n{prompt}{question}"
        )
    return (
        f"{pre_prompt}\n{DOCS_OPEN}\n{documents_text(passages)}\n{DOCS_CLOSE}\n{prompt}{question}"
    )


def summary_prompt(
    passages: Sequence[Passage], *, pre_prompt: str, prompt: str, question: str = ""
) -> str:
    """Summarize / extract prompt over parts, in document order (no reversal)."""
    docs = DOCS_JOINER.join(p.text.strip() for p in passages)
    instruction = f"Focusing on {question.strip()}, {prompt}" if question.strip() else prompt
    return f"{pre_prompt}\n{DOCS_OPEN}\n{docs}\n{DOCS_CLOSE}\n{instruction}"


def echo_stops(*prompts: str) -> list[str]:
    """Stop sequences for when a model starts repeating our instructions."""
    stops = []
    for text in prompts:
        words = text.strip().split()
        if len(words) >= 3:
            stops.append("\n" + " ".join(words[:3]))
        elif len(text.strip()) >= 8:  # scripts without spaces (Chinese, Japanese)
            stops.append("\n" + text.strip()[:8])
    stops.append("\n" + DOCS_OPEN)
    return stops
