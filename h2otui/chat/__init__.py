"""Conversations, independent of any UI: the chat session (options, history, the saved
record, fitting history into the context) and the one answer runner every view uses.

Nothing here imports Textual or ``h2otui.commands``.
"""
