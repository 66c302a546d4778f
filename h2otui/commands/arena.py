"""``h2otui arena leaderboard``: the blind arena's ranking from the saved votes."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from h2otui.commands.exit_codes import EXIT_OK
from h2otui.safe_text import json_dumps, say

if TYPE_CHECKING:
    from h2otui.config import Settings


def run_leaderboard(settings: Settings, *, as_json: bool = False) -> int:
    from h2otui.chat.arena import leaderboard
    from h2otui.store.arena import DB_NAME, ArenaStore, Vote

    votes: list[Vote] = []
    if (settings.data_path / DB_NAME).exists():  # reading never creates the file
        with ArenaStore.open(settings.data_path) as store:
            votes = store.votes()
    board = leaderboard(votes)
    if as_json:
        sys.stdout.write(
            json_dumps(
                {
                    "method": "bradley-terry (elo scale), 95% bootstrap interval",
                    "votes": len(votes),
                    "models": [s.as_dict() for s in board],
                }
            )
            + "\n"
        )
        return EXIT_OK
    if not board:
        say(
            sys.stdout,
            "No arena votes yet: vote in the compare screen's blind arena (F3, Ctrl+B).\n",
        )
        return EXIT_OK
    width = max(len("model"), *(len(s.model) for s in board))
    lines = [f"{'#':>2}  {'model':<{width}}  rating  95% interval   votes  W-L-T  both bad"]
    for i, s in enumerate(board, 1):
        interval = f"{s.low:.0f}-{s.high:.0f}"
        lines.append(
            f"{i:>2}  {s.model:<{width}}  {s.rating:6.0f}  {interval:<13} {s.votes:>5}  "
            f"{s.wins}-{s.losses}-{s.ties}  {s.both_bad:>8}"
        )
    say(sys.stdout, "\n".join(lines) + f"\n({len(votes)} votes; Bradley-Terry on the Elo scale)\n")
    return EXIT_OK
