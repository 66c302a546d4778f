"""The engine error hierarchy, in a module that imports nothing from h2otui.

It lives outside ``h2otui.engines`` so that the neutral modules every layer shares --
the server-string grammar (:mod:`h2otui.servers`), the engine registry
(:mod:`h2otui.engine_registry`) -- can raise the same errors the engines raise without
importing the engines package, and :mod:`h2otui.config` can use them without an import
circle. ``h2otui.engines.base`` re-exports every name, which is where engine code and
callers import them from.
"""

from __future__ import annotations


class EngineError(Exception):
    """A model problem with a message meant for the user (no traceback needed)."""


class ModelNotFoundError(EngineError):
    """The model file / id / served model does not exist where configured."""


class EngineConfigError(EngineError):
    """The model entry or engine options are wrong (bad option, missing package)."""


class EngineConnectionError(EngineError):
    """A remote server could not be reached or dropped the connection."""


class EngineAuthError(EngineError):
    """A remote server refused the credentials (401 / 403)."""


class EngineRequestError(EngineError):
    """A remote server rejected the request (400 / 422), e.g. too many input tokens."""
