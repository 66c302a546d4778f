"""h2otui: terminal-native chat and document QA, h2oGPT's capabilities without the web server."""

__version__ = "0.1.0"
