"""``h2otui arena leaderboard``: the blind arena's ranking from the saved votes."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from h2otui.commands.exit_codes import EXIT_OK
from h2otui.safe_text import json_dumps, say

if TYPE_CHECKING:
    from h2otui.config import Settings


def run_leaderboard(settings: Settings, *, as_json: bool = False) -> int:
    from h2otui.chat.arena import format_table, leaderboard
    from h2otui.store.arena import load_votes

    votes = load_votes(settings.data_path)
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
    say(sys.stdout, format_table(board, len(votes)) + "\n")
    return EXIT_OK
