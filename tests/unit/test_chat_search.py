"""Searching saved chats and recalling past questions (the chat store, real SQLite)."""

from __future__ import annotations

from h2otui.store.chats import ChatStore


def fill(store: ChatStore) -> dict[str, int]:
    ids = {}
    for title, question, answer in [
        ("Cats", "Why do cats purr?", "Contentment, mostly."),
        ("Budget 2024", "What was the churn in Q3?", "Churn was 4% (see report_q3.pdf)."),
        ("Snakes", "Name a 100% venomous_snake", "None is 100% venomous."),
    ]:
        chat = store.create_chat("m", title=title)
        store.add_message(chat.id, "user", question)
        store.add_message(chat.id, "assistant", answer, model="m")
        ids[title] = chat.id
    return ids


def test_search_finds_titles_and_content_every_word_case_insensitive(tmp_path):
    with ChatStore.open(tmp_path) as store:
        ids = fill(store)
        assert [c.id for c in store.search_chats("cats")] == [ids["Cats"]]  # title
        assert [c.id for c in store.search_chats("REPORT_Q3")] == [ids["Budget 2024"]]
        assert [c.id for c in store.search_chats("churn 4%")] == [ids["Budget 2024"]]
        assert store.search_chats("churn purr") == []  # every word, in one chat
        # LIKE wildcards are literal: "%" and "_" match only themselves
        assert [c.id for c in store.search_chats("100%")] == [ids["Snakes"]]
        assert [c.id for c in store.search_chats("s_a")] == []
        assert len(store.search_chats("  ")) == 3  # no words: every chat


def test_recent_questions_are_newest_first_and_unique(tmp_path):
    with ChatStore.open(tmp_path) as store:
        fill(store)
        chat = store.create_chat("m")
        store.add_message(chat.id, "user", "Why do cats purr?")  # asked again
        assert store.recent_questions() == [
            "Why do cats purr?",
            "Name a 100% venomous_snake",
            "What was the churn in Q3?",
        ]
        assert store.recent_questions(limit=1) == ["Why do cats purr?"]


# --- the full-text index (FTS5) -------------------------------------------------------


def test_results_are_ranked_by_relevance_not_recency(tmp_path):
    with ChatStore.open(tmp_path) as store:
        assert store.full_text
        strong = store.create_chat("m", title="Tides and the moon")
        store.add_message(strong.id, "user", "How does the moon cause tides?")
        store.add_message(strong.id, "assistant", "The moon's gravity pulls the oceans: tides.")
        weak = store.create_chat("m", title="Trip planning")  # newer, one passing mention
        store.add_message(weak.id, "user", "Packing list for a week by the sea, " * 5 + "tides?")
        assert [c.id for c in store.search_chats("tides")] == [strong.id, weak.id]
        assert [c.id for c in store.search_chats("moon tides")] == [strong.id]


def test_the_last_word_matches_as_a_prefix_while_typing(tmp_path):
    with ChatStore.open(tmp_path) as store:
        ids = fill(store)
        assert [c.id for c in store.search_chats("chur")] == [ids["Budget 2024"]]
        assert [c.id for c in store.search_chats("purr cont")] == [ids["Cats"]]
        assert store.search_chats("chur ") == []  # a space ends the word: whole words only
        assert store.search_chats("chur purr") == []  # only the last word is a prefix


def test_case_and_accents_are_ignored(tmp_path):
    with ChatStore.open(tmp_path) as store:
        chat = store.create_chat("m")
        store.add_message(chat.id, "user", "Où est le Café Müller?")
        assert [c.id for c in store.search_chats("cafe MULLER")] == [chat.id]
        assert [c.id for c in store.search_chats("où")] == [chat.id]


def test_query_syntax_and_hostile_text_are_searched_as_text(tmp_path):
    from hostile import ATTACKS, HOSTILE_TEXT, MARKUP

    with ChatStore.open(tmp_path) as store:
        ids = fill(store)
        hostile = store.create_chat("m", title=MARKUP[0])
        store.add_message(hostile.id, "user", HOSTILE_TEXT)
        for query in [
            '"',
            '"purr',
            'cats"',
            '""',
            "*",
            "purr*",
            "-",
            "-cats",
            "cats OR snakes",
            "NOT",
            "AND",
            "NEAR(cats purr)",
            "title:cats",
            "content:purr",
            "^cats",
            "{title content}: x",
            "(",
            "cats)",
            "a + b",
            "'; DROP TABLE chats; --",
            "\x00",
            "\\",
            *ATTACKS,
            *MARKUP,
            HOSTILE_TEXT,
            "x" * 5000,
            "word " * 100,
        ]:
            store.search_chats(query)  # never raises
        # the text around the syntax is what is searched
        assert [c.id for c in store.search_chats('"purr')] == [ids["Cats"]]
        assert [c.id for c in store.search_chats("-cats")] == [ids["Cats"]]
        assert [c.id for c in store.search_chats("(cats purr)")] == [ids["Cats"]]
        assert store.search_chats("NEAR(cats purr)") == []  # "near" is a word here
        assert [c.id for c in store.search_chats("title:cats")] == []  # "title cats": no
        assert store.search_chats("cats OR snakes") == []  # OR is a word here, not an operator
        assert [c.id for c in store.search_chats("[bold red]x")] == [hostile.id]
        assert [c.id for c in store.search_chats("word3")] == [hostile.id]
        # words without letters or digits search by substring, as before
        assert [c.id for c in store.search_chats("%")] == [ids["Snakes"], ids["Budget 2024"]]


def test_the_index_follows_every_change(tmp_path):
    with ChatStore.open(tmp_path) as store:
        ids = fill(store)
        answer = store.add_message(ids["Cats"], "assistant", "", status="partial")
        store.update_message(answer, "Whiskers", status="partial")
        assert [c.id for c in store.search_chats("whiskers")] == [ids["Cats"]]
        store.update_message(answer, "Tails", status="complete")  # the streamed text grew
        assert store.search_chats("whiskers") == []
        assert [c.id for c in store.search_chats("tails")] == [ids["Cats"]]
        store.rename_chat(ids["Snakes"], "Reptiles")
        assert store.search_chats("snakes") == []
        assert [c.id for c in store.search_chats("reptiles")] == [ids["Snakes"]]
        store.delete_chat(ids["Cats"])  # its messages go with it (ON DELETE CASCADE)
        assert store.search_chats("tails") == [] and store.search_chats("purr") == []
        assert store.search_chats("cats") == []
        store._db.execute(
            "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"
        )
        store._db.execute("INSERT INTO chats_fts(chats_fts, rank) VALUES ('integrity-check', 1)")


def test_without_fts5_search_falls_back_to_like_and_the_index_is_rebuilt_later(
    tmp_path, monkeypatch
):
    from h2otui.store import chats

    with ChatStore.open(tmp_path) as store:
        ids = fill(store)
    monkeypatch.setattr(chats, "fts5_available", lambda db: False)
    with ChatStore.open(tmp_path) as store:  # a SQLite build without FTS5
        assert not store.full_text
        # writes work (the index's triggers are gone), and search is by substring
        chat = store.create_chat("m", title="Written without the index")
        store.add_message(chat.id, "user", "Do zebras purr?")
        store.rename_chat(ids["Snakes"], "Serpents")
        assert [c.id for c in store.search_chats("urr")] == [chat.id, ids["Cats"]]
    monkeypatch.undo()
    with ChatStore.open(tmp_path) as store:  # FTS5 again: re-indexed, the new chat included
        assert store.full_text
        assert [c.id for c in store.search_chats("zebras")] == [chat.id]
        assert [c.id for c in store.search_chats("serpents")] == [ids["Snakes"]]
        assert store.search_chats("urr") == []  # whole words (and prefixes) again
        store._db.execute(
            "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"
        )
