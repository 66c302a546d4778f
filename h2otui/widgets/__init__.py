"""Reusable Textual widgets (each with its own ``DEFAULT_CSS``).

Widgets never talk to a model or a database: screens pass them data and listen to their
messages.
"""
