"""The arena leaderboard's math on vote sets with known answers, and the votes file
(owner-only, two processes voting at once)."""

from __future__ import annotations

import json
import math
import random
import stat
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from h2otui.chat.arena import BASE, bradley_terry, leaderboard
from h2otui.store.arena import ArenaStore, ArenaStoreError, Vote


def votes(*spec: tuple[str, str, str, int]) -> list[Vote]:
    return [Vote(a, b, verdict) for a, b, verdict, n in spec for _ in range(n)]


def test_three_wins_to_one_is_a_strength_ratio_of_three() -> None:
    r = bradley_terry(votes(("x", "y", "a", 3), ("x", "y", "b", 1)), prior=0)
    assert r["x"] - r["y"] == pytest.approx(400 * math.log10(3), abs=1e-6)
    assert (r["x"] + r["y"]) / 2 == pytest.approx(BASE)


def test_sides_do_not_matter_only_who_won() -> None:
    a = bradley_terry(votes(("x", "y", "a", 3), ("x", "y", "b", 1)), prior=0)
    b = bradley_terry(votes(("y", "x", "b", 3), ("y", "x", "a", 1)), prior=0)
    assert a == pytest.approx(b)


def test_a_cycle_and_all_ties_rate_everyone_equal() -> None:
    cycle = bradley_terry(votes(("x", "y", "a", 1), ("y", "z", "a", 1), ("z", "x", "a", 1)))
    assert all(v == pytest.approx(BASE) for v in cycle.values())
    ties = bradley_terry(votes(("x", "y", "tie", 3), ("x", "y", "both_bad", 2)), prior=0)
    assert ties["x"] == pytest.approx(ties["y"])


def test_an_unbeaten_model_gets_a_finite_rating_from_the_prior() -> None:
    # 2 wins + one virtual tie: 2.5 to 0.5, a strength ratio of 5
    r = bradley_terry(votes(("x", "y", "a", 2)), prior=1)
    assert r["x"] - r["y"] == pytest.approx(400 * math.log10(5), abs=1e-6)


def test_transitive_strengths_rank_in_order_whatever_the_vote_order() -> None:
    vs = votes(
        ("x", "y", "a", 6), ("x", "y", "b", 2), ("y", "z", "a", 6), ("y", "z", "b", 2),
        ("x", "z", "a", 5), ("x", "z", "b", 1),
    )  # fmt: skip
    shuffled = list(vs)
    random.Random(7).shuffle(shuffled)
    assert bradley_terry(vs) == pytest.approx(bradley_terry(shuffled))
    board = leaderboard(vs)
    assert [s.model for s in board] == ["x", "y", "z"]
    x = board[0]
    assert (x.votes, x.wins, x.losses, x.ties, x.both_bad) == (14, 11, 3, 0, 0)
    for s in board:
        assert s.low <= s.rating <= s.high
    # seeded bootstrap: the same votes always give the same intervals
    assert leaderboard(vs) == board
    # more votes, narrower interval
    wide = leaderboard(votes(("x", "y", "a", 3), ("x", "y", "b", 1)))
    narrow = leaderboard(votes(("x", "y", "a", 30), ("x", "y", "b", 10)))
    assert narrow[0].high - narrow[0].low < wide[0].high - wide[0].low


def test_no_votes_no_board() -> None:
    assert leaderboard([]) == []


CHILD = """
import sys
from h2otui.store.arena import ArenaStore, Vote
with ArenaStore.open(sys.argv[1]) as s:
    for i in range(40):
        s.add(Vote("p", "q", "a", f"child {i}"))
"""


def test_votes_file_is_private_and_two_processes_vote_at_once(tmp_path) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)])
    with ArenaStore.open(tmp_path) as store:
        for i in range(40):
            store.add(Vote("p", "q", "b", f"parent {i}"))
        assert child.wait(timeout=60) == 0
        got = store.votes()
        with pytest.raises(ArenaStoreError, match="unknown verdict"):
            store.add(Vote("p", "q", "maybe"))
    assert len(got) == 80
    assert sum(v.verdict == "a" for v in got) == 40
    mode = stat.S_IMODE((tmp_path / "arena.sqlite3").stat().st_mode)
    assert mode == 0o600


def test_leaderboard_cli_json(isolated_env) -> None:
    from h2otui.cli import app

    with ArenaStore.open(isolated_env) as store:
        for v in votes(("m1", "m2", "a", 3), ("m1", "m2", "tie", 1)):
            store.add(v)
    result = CliRunner().invoke(app, ["arena", "leaderboard", "--json"])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.output)
    assert obj["votes"] == 4
    assert [m["model"] for m in obj["models"]] == ["m1", "m2"]
    assert obj["models"][0]["wins"] == 3 and obj["models"][0]["ties"] == 1
    text = CliRunner().invoke(app, ["arena", "leaderboard"])
    assert text.exit_code == 0 and "m1" in text.output and "4 votes" in text.output
