"""Fitting documents and conversation history into the model's context.

The rule (h2oGPT's ``get_limited_prompt``, simplified): the rendered prompt --
system prompt, history, documents and question -- plus ``max_new_tokens`` must fit the
model's context, and the documents alone must fit ``max_input_tokens`` when that is
set (> 0). Tokens are counted with the engine's own tokenizer on the prompt exactly as
the engine will render it.

When something has to go: the least relevant documents first, then the oldest history
turns; the best document is kept as long as anything can be kept (cut to fit, as a
last resort). Everything dropped is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from h2otui.engines.base import Message
from h2otui.qa.citations import Passage
from h2otui.qa.prompts import DOCS_JOINER, passage_block
from h2otui.qa.retrieval import QAError

if TYPE_CHECKING:
    from h2otui.engines.base import Engine


@dataclass(slots=True)
class Dropped:
    """Something left out of the prompt, and why."""

    kind: str  # "chunk" | "history"
    reason: str  # "context" | "max_input_tokens" | "cut_distance" | "truncated"
    tokens: int | None = None
    passage: Passage | None = None
    turn: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "reason": self.reason, "tokens": self.tokens}
        if self.passage is not None:
            p = self.passage
            out.update(
                source=p.source,
                page=p.page,
                start_time=p.start_time,
                end_time=p.end_time,
                score=None if p.score is None else round(float(p.score), 4),
            )
        if self.turn is not None:
            out["turn"] = self.turn
        return out

    def to_meta(self) -> dict[str, Any]:
        """Every field, JSON-ready (the passage whole), for a saved answer."""
        return {
            "kind": self.kind,
            "reason": self.reason,
            "tokens": self.tokens,
            "passage": None if self.passage is None else self.passage.to_meta(),
            "turn": self.turn,
        }

    @classmethod
    def from_meta(cls, data: dict[str, Any]) -> Dropped:
        passage = data.get("passage")
        return cls(
            kind=str(data.get("kind", "chunk")),
            reason=str(data.get("reason", "context")),
            tokens=data.get("tokens"),
            passage=None if not isinstance(passage, dict) else Passage.from_meta(passage),
            turn=data.get("turn"),
        )

    def describe(self) -> str:
        what = self.passage.label() if self.passage else f"history turn {self.turn}"
        size = f" ({self.tokens} tokens)" if self.tokens is not None else ""
        return f"{what}: {self.reason}{size}"


@dataclass(slots=True)
class FilledPrompt:
    messages: list[Message]
    passages: list[Passage]
    history: list[tuple[str, str]]
    prompt_tokens: int
    context_length: int
    max_new_tokens: int
    dropped: list[Dropped] = field(default_factory=list)


def build_messages(
    system: str | None, history: Sequence[tuple[str, str]], user: str
) -> list[Message]:
    messages: list[Message] = []
    if system is not None:
        messages.append(Message("system", system))
    for q, a in history:
        messages += [Message("user", q), Message("assistant", a)]
    messages.append(Message("user", user))
    return messages


class TokenCounter:
    """Counts tokens of rendered prompts with the engine's tokenizer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def text(self, text: str) -> int:
        return int(self.engine.count_tokens(text))

    def prompt(self, messages: Sequence[Message]) -> int:
        return self.text(self.engine.render_prompt(messages))


def _truncate_to(counter: TokenCounter, text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` (cut at a word) within ``max_tokens``."""
    if max_tokens <= 0:
        return ""
    n = counter.text(text)
    if n <= max_tokens:
        return text
    cut = text
    for _ in range(8):
        keep = max(1, int(len(cut) * max_tokens / max(n, 1) * 0.95))
        cut = cut[:keep]
        if " " in cut[len(cut) // 2 :]:
            cut = cut[: cut.rfind(" ")]
        n = counter.text(cut)
        if n <= max_tokens:
            return cut
    return ""


def fill_context(
    engine: Engine,
    *,
    build_user: Callable[[Sequence[Passage]], str],
    passages: Sequence[Passage],
    system: str | None = None,
    history: Sequence[tuple[str, str]] = (),
    max_new_tokens: int = 256,
    max_input_tokens: int = -1,
) -> FilledPrompt:
    """Choose the passages and history turns that fit; see the module docstring."""
    counter = TokenCounter(engine)
    ctx = int(engine.context_length)
    limit = ctx - max_new_tokens
    if limit <= 0:
        raise QAError(
            f"max_new_tokens ({max_new_tokens}) leaves no room in the model's context ({ctx} tokens)"
        )
    passages = list(passages)
    history = list(history)
    dropped: list[Dropped] = []

    base = counter.prompt(build_messages(system, [], build_user([])))
    if base > limit:
        raise QAError(
            f"the question and prompts alone take {base} tokens, but the model's context is "
            f"{ctx} tokens with {max_new_tokens} reserved for the answer: shorten the question, "
            "the qa prompts or max_new_tokens"
        )
    doc_tokens = [
        counter.text(passage_block(n, p) + DOCS_JOINER) for n, p in enumerate(passages, 1)
    ]
    hist_tokens = [counter.text(q) + counter.text(a) + 8 for q, a in history]
    doc_cap = max_input_tokens if max_input_tokens and max_input_tokens > 0 else None

    n_docs = len(passages)
    h_start = 0
    slack = 0  # correction once the exact rendering has been measured

    def est_total() -> int:
        return base + slack + sum(doc_tokens[:n_docs]) + sum(hist_tokens[h_start:])

    for _attempt in range(6):
        while True:
            docs_sum = sum(doc_tokens[:n_docs])
            over_cap = doc_cap is not None and docs_sum > doc_cap
            over_ctx = est_total() > limit
            if not over_cap and not over_ctx:
                break
            if n_docs > 1:
                n_docs -= 1
                dropped.append(
                    Dropped(
                        "chunk",
                        "max_input_tokens" if over_cap else "context",
                        doc_tokens[n_docs],
                        passage=passages[n_docs],
                    )
                )
            elif over_ctx and h_start < len(history):
                dropped.append(Dropped("history", "context", hist_tokens[h_start], turn=h_start))
                h_start += 1
            elif n_docs == 1:
                # the best document alone is too long: keep its beginning
                room = limit - (est_total() - doc_tokens[0])
                if doc_cap is not None:
                    room = min(room, doc_cap)
                room -= 24  # header + joiner
                best = passages[0]
                cut = _truncate_to(counter, best.text, room)
                if not cut:
                    n_docs = 0
                    dropped.append(Dropped("chunk", "context", doc_tokens[0], passage=best))
                    continue
                before = doc_tokens[0]
                passages[0] = replace(best, text=cut, truncated=True)
                doc_tokens[0] = counter.text(passage_block(1, passages[0]) + DOCS_JOINER)
                dropped.append(Dropped("chunk", "truncated", before - doc_tokens[0], passage=best))
                if doc_tokens[0] >= before:  # no progress: give up on it
                    n_docs = 0
            else:
                raise QAError(
                    f"the prompt does not fit the model's context ({ctx} tokens, "
                    f"{max_new_tokens} reserved for the answer)"
                )
        kept = passages[:n_docs]
        hist = history[h_start:]
        messages = build_messages(system, hist, build_user(kept))
        exact = counter.prompt(messages)
        if exact <= limit and (doc_cap is None or sum(doc_tokens[:n_docs]) <= doc_cap):
            return FilledPrompt(messages, kept, hist, exact, ctx, max_new_tokens, dropped)
        slack += exact - est_total() + 1
    raise QAError("could not fit the documents into the model's context")


def pack_parts(counter: TokenCounter, parts: Sequence[Passage], budget: int) -> list[list[Passage]]:
    """Group parts, in order, into batches of at most ``budget`` tokens each.

    A part longer than the budget is split (at word boundaries) into pieces that fit;
    each piece keeps the part's source, page and time span.
    """
    if budget <= 16:
        raise QAError(
            f"only {budget} tokens are left for documents: raise the context or lower max_new_tokens"
        )
    batches: list[list[Passage]] = []
    current: list[Passage] = []
    used = 0
    for part in parts:
        for piece in split_to_fit(counter, part, budget):
            n = counter.text(piece.text) + 4
            if current and used + n > budget:
                batches.append(current)
                current, used = [], 0
            current.append(piece)
            used += n
    if current:
        batches.append(current)
    return batches


def split_to_fit(counter: TokenCounter, part: Passage, budget: int) -> list[Passage]:
    text = part.text.strip()
    if not text:
        return []
    if counter.text(text) + 4 <= budget:
        return [part]
    pieces: list[Passage] = []
    rest = text
    while rest:
        cut = _truncate_to(counter, rest, budget - 4)
        if not cut:
            cut = rest[: max(1, budget)]  # a single enormous "word": cut by characters
        pieces.append(replace(part, text=cut))
        rest = rest[len(cut) :].lstrip()
    return pieces
