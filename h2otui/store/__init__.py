"""Persistent data: chat history (SQLite) and document collections (LanceDB).

Nothing here imports Textual."""
