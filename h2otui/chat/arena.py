"""The blind arena's leaderboard: Bradley-Terry ratings from pairwise votes.

Each vote compares two models: A wins, B wins, a tie, or both bad (rated as a tie, as
LMSYS's Chatbot Arena does, but counted apart). Ratings are the maximum-likelihood
Bradley-Terry strengths (Hunter's MM algorithm; a tie counts half a win to each side),
shown on the Elo scale: ``400 * log10(strength)``, centred so the models average
:data:`BASE`. Unlike online Elo the result does not depend on the order of the votes.

A model that never lost has an unbounded strength, so each pair that met also gets
``prior`` virtual ties (default 1: a light pull towards equal). The 95% interval comes from
a seeded bootstrap over the votes, so the same votes always give the same leaderboard.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

BASE = 1000.0
SCALE = 400.0


class VoteLike(Protocol):
    model_a: str
    model_b: str
    verdict: str


@dataclass(frozen=True, slots=True)
class Standing:
    model: str
    rating: float
    low: float
    high: float
    votes: int
    wins: int
    losses: int
    ties: int
    both_bad: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "rating": round(self.rating, 1),
            "ci95": [round(self.low, 1), round(self.high, 1)],
            "votes": self.votes,
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "both_bad": self.both_bad,
        }


def _score(verdict: str) -> float:
    """A's share of the win."""
    return {"a": 1.0, "b": 0.0}.get(verdict, 0.5)


def bradley_terry(
    votes: Sequence[VoteLike], *, prior: float = 1.0, iterations: int = 2000
) -> dict[str, float]:
    """Ratings on the Elo scale (mean :data:`BASE`) by maximum likelihood."""
    models = sorted({v.model_a for v in votes} | {v.model_b for v in votes})
    if not models:
        return {}
    index = {m: i for i, m in enumerate(models)}
    n = len(models)
    wins = [0.0] * n
    games: dict[tuple[int, int], float] = {}
    for v in votes:
        a, b = index[v.model_a], index[v.model_b]
        s = _score(v.verdict)
        wins[a] += s
        wins[b] += 1.0 - s
        key = (min(a, b), max(a, b))
        games[key] = games.get(key, 0.0) + 1.0
    if prior > 0:
        for a, b in games:
            wins[a] += prior / 2
            wins[b] += prior / 2
            games[(a, b)] += prior
    strength = [1.0] * n
    for _ in range(iterations):
        denom = [0.0] * n
        for (a, b), count in games.items():
            d = count / (strength[a] + strength[b])
            denom[a] += d
            denom[b] += d
        new = [(wins[i] / denom[i]) if denom[i] > 0 and wins[i] > 0 else 1e-9 for i in range(n)]
        log_mean = sum(math.log(x) for x in new) / n
        new = [x / math.exp(log_mean) for x in new]
        done = max(abs(x - y) for x, y in zip(new, strength, strict=True)) < 1e-10
        strength = new
        if done:
            break
    return {m: BASE + SCALE * math.log10(strength[index[m]]) for m in models}


def leaderboard(
    votes: Sequence[VoteLike], *, prior: float = 1.0, rounds: int = 200, seed: int = 0
) -> list[Standing]:
    """Models ranked by rating, each with its 95% bootstrap interval and vote counts."""
    ratings = bradley_terry(votes, prior=prior)
    samples: dict[str, list[float]] = {m: [] for m in ratings}
    rng = random.Random(seed)
    for _ in range(rounds if votes else 0):
        resample = [votes[rng.randrange(len(votes))] for _ in votes]
        boot = bradley_terry(resample, prior=prior, iterations=300)
        for m in ratings:
            if m in boot:
                samples[m].append(boot[m])
    out = []
    for m, rating in ratings.items():
        mine = [v for v in votes if m in (v.model_a, v.model_b)]
        won = sum(1 for v in mine if (v.verdict, m) in (("a", v.model_a), ("b", v.model_b)))
        lost = sum(1 for v in mine if v.verdict in ("a", "b")) - won
        s = sorted(samples[m]) or [rating]
        low = s[int(0.025 * (len(s) - 1))]
        high = s[math.ceil(0.975 * (len(s) - 1))]
        out.append(
            Standing(
                model=m,
                rating=rating,
                low=min(low, rating),
                high=max(high, rating),
                votes=len(mine),
                wins=won,
                losses=lost,
                ties=sum(1 for v in mine if v.verdict == "tie"),
                both_bad=sum(1 for v in mine if v.verdict == "both_bad"),
            )
        )
    out.sort(key=lambda s: (-s.rating, s.model))
    return out


def format_table(board: Sequence[Standing], votes: int) -> str:
    """The leaderboard as a plain-text table (``arena leaderboard``, the arena view)."""
    if not board:
        return "No arena votes yet: vote in the compare screen's blind arena (F3, Ctrl+B)."
    width = max(len("model"), *(len(s.model) for s in board))
    lines = [f"{'#':>2}  {'model':<{width}}  rating  95% interval   votes  W-L-T  both bad"]
    for i, s in enumerate(board, 1):
        interval = f"{s.low:.0f}-{s.high:.0f}"
        lines.append(
            f"{i:>2}  {s.model:<{width}}  {s.rating:6.0f}  {interval:<13} {s.votes:>5}  "
            f"{s.wins}-{s.losses}-{s.ties}  {s.both_bad:>8}"
        )
    lines.append(f"({votes} votes; Bradley-Terry on the Elo scale)")
    return "\n".join(lines)
