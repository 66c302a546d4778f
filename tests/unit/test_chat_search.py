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
